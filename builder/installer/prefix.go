package installer

import (
	"bytes"
	"fmt"
)

// replaceText replaces every occurrence of placeholder in data by prefix.
func replaceText(data []byte, placeholder, prefix string) []byte {
	return bytes.ReplaceAll(data, []byte(placeholder), []byte(prefix))
}

// replaceBinary replaces placeholder by prefix inside the NUL-terminated C
// strings of data, as conda does for binary files: each string that holds
// the placeholder has every occurrence replaced and is padded with NUL bytes
// up to its old end, so offsets in the file do not move. A prefix longer than
// the placeholder cannot fit and is an error. data is changed in place.
func replaceBinary(data []byte, placeholder, prefix string) ([]byte, error) {
	if len(placeholder) == 0 {
		return data, nil
	}
	ph := []byte(placeholder)
	pre := []byte(prefix)
	if len(pre) > len(ph) {
		return nil, fmt.Errorf("prefix %q is longer than the binary placeholder %q, so it cannot be patched in", prefix, placeholder)
	}
	for i := 0; ; {
		j := bytes.Index(data[i:], ph)
		if j < 0 {
			return data, nil
		}
		start := i + j
		end := bytes.IndexByte(data[start:], 0)
		if end < 0 {
			end = len(data)
		} else {
			end += start
		}
		str := bytes.ReplaceAll(data[start:end], ph, pre)
		n := copy(data[start:end], str)
		clear(data[start+n : end])
		i = end
	}
}
