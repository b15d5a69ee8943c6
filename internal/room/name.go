package room

// MaxNameLen is the longest room name (docs/protocol.md).
const MaxNameLen = 64

// ValidName reports whether name is a room name: 1 to MaxNameLen letters, digits, '-' or '_'. The
// signaling and the rooms API both take names by this rule.
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > MaxNameLen {
		return false
	}
	for i := range len(name) {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
