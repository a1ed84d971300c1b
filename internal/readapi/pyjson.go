package readapi

// obj is a JSON object; pyfmt writes a map's keys sorted, as warehouse's
// json.dumps(sort_keys=True) does (warehouse/api/simple.py, warehouse/legacy/api/json.py).
type obj = map[string]any
