//go:build e2e

package e2e

// knownDiffs explains, per step (supervisorctl arguments or XML-RPC call),
// a difference between supervisord and drover that the suite expects;
// README.md has the same table with links. A listed step that stops
// differing fails the suite, so the list stays true.
var knownDiffs = map[string]string{
	// docs/api.md "Strings that XML cannot carry"; supervisor #1485.
	"tail talker": "deliberate: invalid UTF-8 in a log is sent as U+FFFD; supervisord answers HTTP 500",
	// docs/api.md "Strings that XML cannot carry"; supervisor #85, #744.
	"tail talker stderr":                              "deliberate: ESC is sent as U+241B; supervisord writes XML its client cannot parse",
	`supervisor.readProcessStderrLog["talker", 0, 0]`: "deliberate: ESC is sent as U+241B; supervisord's XML does not parse",
	// docs/api.md deliberate difference 7.
	`supervisor.signalProcess["sleeper", "0"]`: "deliberate: signal 0 is refused with BAD_SIGNAL",
	// docs/api.md deliberate differences 3 and 4.
	`system.multicall[[{"methodName": 5}]]`: "deliberate: INCORRECT_PARAMETERS: No methodName, not FAILED with a Python exception",
	`system.multicall[[5]]`:                 "deliberate: a fault entry, not HTTP 500",
	`system.multicall[[{"methodName": "supervisor.getAPIVersion"}, {"methodName": "supervisor.getProcessInfo", "params": ["nope"]}, {"methodName": "supervisor.nope"}, {"methodName": "supervisor.readLog", "params": ["abc", 0]}]]`: "deliberate: readLog(\"abc\") is INCORRECT_PARAMETERS: abc, not FAILED with a Python exception",
	// Not documented: drover's own docstrings.
	`system.methodHelp["supervisor.getState"]`: "undocumented: drover's own help text",
	`system.methodHelp["system.multicall"]`:    "undocumented: drover's own help text",
	// docs/config.md: every error names file:line, [section] and option.
	"reread (config error)": "deliberate: the CANT_REREAD text is drover's file:line message; exit code and prefix match",
	"update (config error)": "deliberate: the CANT_REREAD text is drover's file:line message; exit code and prefix match",
	// docs/api.md "Paths" and docs/differences.md: the console replaces the web UI.
	"GET /": "deliberate: drover's console (docs/api.md \"Paths\"), not supervisord's web UI",
}
