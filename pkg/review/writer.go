package review

import (
	"bytes"
	"strconv"
)

// writer appends the document: markup as is, data escaped for HTML text.
// The document is written in one pass into one buffer sized ahead
// (reserve), without html/template's reflection per value.
type writer struct{ b []byte }

// htmlEscapes is html/template's escaping of a string in HTML text and
// RCDATA (htmlEscaper, rcdataEscaper: its htmlReplacementTable): NUL
// becomes U+FFFD; the double quote, ampersand, apostrophe, plus sign,
// less-than and greater-than signs become entities; every other byte,
// including bytes of invalid UTF-8, is copied. Every byte it replaces is
// ASCII, which never occurs inside a multi-byte UTF-8 sequence, so
// replacing bytes is replacing runes.
var htmlEscapes = [256]string{
	0: "\uFFFD", '"': "&#34;", '&': "&amp;", '\'': "&#39;", '+': "&#43;", '<': "&lt;", '>': "&gt;",
}

// raw appends markup.
func (w *writer) raw(s string) { w.b = append(w.b, s...) }

// text appends s escaped as html/template escapes a string in HTML text.
func (w *writer) text(s string) { w.b = appendEscaped(w.b, s) }

// int appends a decimal integer (as text/template prints one).
func (w *writer) int(n int64) { w.b = strconv.AppendInt(w.b, n, 10) }

// uint appends a decimal unsigned integer.
func (w *writer) uint(n uint64) { w.b = strconv.AppendUint(w.b, n, 10) }

// reserve makes room for n more bytes, growing to exactly that size (not
// append's doubling, which would copy and clear a large document again).
func (w *writer) reserve(n int) {
	if cap(w.b)-len(w.b) >= n {
		return
	}
	b := make([]byte, len(w.b), len(w.b)+n)
	copy(b, w.b)
	w.b = b
}

// appendEscaped appends s escaped by htmlEscapes.
func appendEscaped[S string | []byte](dst []byte, s S) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		if r := htmlEscapes[s[i]]; r != "" {
			dst = append(dst, s[last:i]...)
			dst = append(dst, r...)
			last = i + 1
		}
	}
	return append(dst, s[last:]...)
}

// appendIndentedText appends compact JSON (as encoding/json writes it:
// no space outside strings) indented by two spaces exactly as json.Indent
// with prefix "" and indent "  " formats it (empty objects and arrays stay
// {} and [], ": " after keys, one element per line), escaped for HTML
// text as appendEscaped escapes it: escape(indent(src)) in one pass.
func appendIndentedText(dst, src []byte) []byte {
	depth := 0
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '"':
			end := stringEnd(src, i)
			dst = appendEscaped(dst, src[i:end+1])
			i = end
		case '{', '[':
			dst = append(dst, c)
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				dst = append(dst, src[i+1])
				i++
				continue
			}
			depth++
			dst = newline(dst, depth)
		case '}', ']':
			depth--
			dst = append(newline(dst, depth), c)
		case ',':
			dst = newline(append(dst, c), depth)
		case ':':
			dst = append(dst, c, ' ')
		default: // numbers, literals, the final newline
			if r := htmlEscapes[c]; r != "" {
				dst = append(dst, r...)
			} else {
				dst = append(dst, c)
			}
		}
	}
	return dst
}

// stringEnd returns the index of the quote closing the JSON string opened
// at src[open] (one not escaped by an odd run of backslashes), or the last
// index of src if the string is not closed.
func stringEnd(src []byte, open int) int {
	for j := open + 1; j < len(src); j++ {
		k := bytes.IndexByte(src[j:], '"')
		if k < 0 {
			break
		}
		j += k
		backslashes := 0
		for b := j - 1; b > open && src[b] == '\\'; b-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return j
		}
	}
	return len(src) - 1
}

func newline(dst []byte, depth int) []byte {
	dst = append(dst, '\n')
	for range depth {
		dst = append(dst, ' ', ' ')
	}
	return dst
}
