//go:build e2e

package e2e

// knownDiffs explains, per step, a difference between supervisord and
// drover that the suite expects; README.md has the same table with links.
// A listed step that stops differing fails the suite, so the list stays true.
var knownDiffs = map[string]string{
	// docs/api.md "Strings that XML cannot carry"; supervisor #1485.
	"tail talker": "deliberate: invalid UTF-8 in a log is sent as U+FFFD; supervisord answers HTTP 500",
	// docs/api.md "Strings that XML cannot carry"; supervisor #85, #744.
	"tail talker stderr": "deliberate: ESC is sent as U+241B; supervisord writes XML its client cannot parse",
}
