package readapi

// obj is a JSON object; pyfmt writes a map's keys sorted, as warehouse's
// json.dumps(sort_keys=True) does (pypi-server.md §6.1, §6.3).
type obj = map[string]any
