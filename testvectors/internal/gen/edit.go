package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// bundleJSON mirrors the bundle layout makeBundle writes, so an edited
// bundle keeps the member order.
type bundleJSON struct {
	MediaType            string `json:"mediaType"`
	VerificationMaterial struct {
		PublicKey struct {
			Hint string `json:"hint"`
		} `json:"publicKey"`
	} `json:"verificationMaterial"`
	DSSEEnvelope struct {
		Payload     string `json:"payload"`
		PayloadType string `json:"payloadType"`
		Signatures  []struct {
			KeyID string `json:"keyid,omitempty"`
			Sig   string `json:"sig"`
		} `json:"signatures"`
	} `json:"dsseEnvelope"`
}

func editBundle(bundle []byte, f func(*bundleJSON)) []byte {
	var v bundleJSON
	if err := json.Unmarshal(bundle, &v); err != nil {
		panic(err)
	}
	f(&v)
	return cjson(v)
}

func payloadOf(bundle []byte) []byte {
	var v bundleJSON
	must(0, json.Unmarshal(bundle, &v))
	return must(base64.StdEncoding.DecodeString(v.DSSEEnvelope.Payload))
}

// replaceOnce replaces the first old in s and panics when it is absent,
// so a vector never silently stops changing what it claims to change.
func replaceOnce(s []byte, old, new string) []byte {
	if !bytes.Contains(s, []byte(old)) {
		fatalf("%q not found", old)
	}
	return bytes.Replace(s, []byte(old), []byte(new), 1)
}

// flipB64 flips one bit of the decoded value of a base64 string.
func flipB64(s string, at int) string {
	raw := must(base64.StdEncoding.DecodeString(s))
	raw[at%len(raw)] ^= 0x01
	return b64(raw)
}

// flipNoteSig flips a bit of the first signature of a signed note.
func flipNoteSig(note []byte) []byte {
	i := bytes.LastIndex(note, []byte(" "))
	sig := strings.TrimSuffix(string(note[i+1:]), "\n")
	return append(append([]byte{}, note[:i+1]...), []byte(flipB64(sig, 10)+"\n")...)
}

func sortFiles(fs []file) {
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Name < fs[j].Name })
}

func fileIndex(fs []file, name string) int {
	for i, f := range fs {
		if f.Name == name {
			return i
		}
	}
	fatalf("no file %s", name)
	return -1
}

func blobName(data []byte) string { return "blobs/sha256/" + hexOf(data) }

func zeroTime() (t time.Time) { return t }
