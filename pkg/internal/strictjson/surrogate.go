package strictjson

import "strconv"

// loneSurrogate returns the byte offset of the first \u escape in a string
// that encodes half of a UTF-16 surrogate pair without its other half, or
// -1. encoding/json silently turns those into U+FFFD while other decoders
// keep or reject them, so signed JSON must not contain them. The input is
// assumed to be valid UTF-8; syntax errors are left to the decoder.
func loneSurrogate(data []byte) int {
	inString := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			inString = !inString
		case c == '\\' && inString && i+1 < len(data):
			i++
			if data[i] != 'u' {
				continue
			}
			r, ok := hex4(data, i+1)
			switch {
			case !ok || r < 0xD800 || r > 0xDFFF:
			case r >= 0xDC00:
				return i - 1
			default:
				lo, ok := -1, i+6 < len(data) && data[i+5] == '\\' && data[i+6] == 'u'
				if ok {
					lo, _ = hex4(data, i+7)
				}
				if lo < 0xDC00 || lo > 0xDFFF {
					return i - 1
				}
				i += 10
			}
		}
	}
	return -1
}

// hex4 parses the 4 hex digits at data[i:i+4].
func hex4(data []byte, i int) (int, bool) {
	if i+4 > len(data) {
		return -1, false
	}
	v, err := strconv.ParseUint(string(data[i:i+4]), 16, 16)
	if err != nil {
		return -1, false
	}
	return int(v), true
}
