// luacheck runs an Argo CD resource customization script (health.lua, discovery.lua or an action.lua)
// on one object under gopher-lua, the Lua that Argo CD embeds, in the sandbox Argo CD gives scripts
// from argocd-cm, and prints the result as JSON the way Argo CD reads it. The tests of
// deploy/argocd/resource_customizations run every case through it.
//
//	luacheck health|discovery|action SCRIPT < object.json
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	lua "github.com/yuin/gopher-lua"
)

func main() {
	if len(os.Args) != 3 {
		fail(errors.New("usage: luacheck health|discovery|action SCRIPT < object.json"))
	}
	mode, scriptPath := os.Args[1], os.Args[2]
	script, err := os.ReadFile(scriptPath)
	if err != nil {
		fail(err)
	}
	var obj map[string]any
	dec := json.NewDecoder(os.Stdin)
	if err := dec.Decode(&obj); err != nil {
		fail(fmt.Errorf("object on stdin: %w", err))
	}
	raw, err := run(obj, string(script))
	if err != nil {
		fail(fmt.Errorf("%s: %w", scriptPath, err))
	}
	var out any
	switch mode {
	case "health":
		out, err = health(raw)
	case "discovery":
		out, err = discovery(raw)
	case "action":
		out, err = action(raw, obj)
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		fail(fmt.Errorf("%s: %w", scriptPath, err))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "luacheck:", err)
	os.Exit(1)
}

// run executes the script as Argo CD does for a customization from argocd-cm: no standard libraries
// but package, base and table (so no string library: scripts must not need it), obj as a global, and
// a one-second budget. Argo CD adds a safe os (time, date); it is left out here, so a script that
// starts needing it fails its tests instead of passing by accident. It returns the script's return
// value encoded as JSON.
func run(obj map[string]any, script string) ([]byte, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		return nil, err
	}
	ret := l.Get(-1)
	if ret.Type() != lua.LTTable {
		return nil, fmt.Errorf("expect table output from Lua script, not %s", ret.Type())
	}
	v, err := fromLua(ret, map[*lua.LTable]bool{})
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// toLua turns decoded JSON into Lua values as Argo CD's decodeValue does (numbers are Lua numbers).
func toLua(l *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case bool:
		return lua.LBool(x)
	case float64:
		return lua.LNumber(x)
	case string:
		return lua.LString(x)
	case []any:
		t := l.CreateTable(len(x), 0)
		for _, item := range x {
			t.Append(toLua(l, item))
		}
		return t
	case map[string]any:
		t := l.CreateTable(0, len(x))
		for k, item := range x {
			t.RawSetH(lua.LString(k), toLua(l, item))
		}
		return t
	}
	return lua.LNil
}

// fromLua encodes like layeh.com/gopher-json, which Argo CD uses: an empty table is an empty array,
// keys 1..n an array, string keys an object; anything else is an error.
func fromLua(v lua.LValue, seen map[*lua.LTable]bool) (any, error) {
	switch x := v.(type) {
	case lua.LBool:
		return bool(x), nil
	case lua.LNumber:
		return float64(x), nil
	case lua.LString:
		return string(x), nil
	case *lua.LNilType:
		return nil, nil
	case *lua.LTable:
		if seen[x] {
			return nil, errors.New("cannot encode recursively nested tables to JSON")
		}
		seen[x] = true
		defer delete(seen, x)
		key, _ := x.Next(lua.LNil)
		switch key.Type() {
		case lua.LTNil:
			return []any{}, nil
		case lua.LTNumber:
			arr := []any{}
			for i := 1; ; i++ {
				item := x.RawGetInt(i)
				if item == lua.LNil {
					break
				}
				e, err := fromLua(item, seen)
				if err != nil {
					return nil, err
				}
				arr = append(arr, e)
			}
			if len(arr) != countKeys(x) {
				return nil, errors.New("cannot encode sparse array or mixed keys")
			}
			return arr, nil
		case lua.LTString:
			m := map[string]any{}
			var err error
			x.ForEach(func(k, item lua.LValue) {
				if err != nil {
					return
				}
				if k.Type() != lua.LTString {
					err = errors.New("cannot encode mixed or invalid key types")
					return
				}
				m[string(k.(lua.LString))], err = fromLua(item, seen)
			})
			return m, err
		}
		return nil, errors.New("cannot encode mixed or invalid key types")
	}
	return nil, fmt.Errorf("cannot encode %s to JSON", v.Type())
}

func countKeys(t *lua.LTable) int {
	n := 0
	t.ForEach(func(lua.LValue, lua.LValue) { n++ })
	return n
}

type healthStatus struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// health reads the result as Argo CD's ExecuteHealthLua: an unknown status becomes Unknown.
func health(raw []byte) (healthStatus, error) {
	var hs healthStatus
	if err := json.Unmarshal(raw, &hs); err != nil {
		return hs, err
	}
	switch hs.Status {
	case "Unknown", "Progressing", "Suspended", "Healthy", "Degraded", "Missing":
		return hs, nil
	}
	return healthStatus{Status: "Unknown", Message: "Lua returned an invalid health status"}, nil
}

type resourceAction struct {
	Name        string `json:"name"`
	Disabled    bool   `json:"disabled"`
	DisplayName string `json:"displayName,omitempty"`
	IconClass   string `json:"iconClass,omitempty"`
}

// discovery reads the result as Argo CD's ExecuteResourceActionDiscovery (a map of action name to
// {disabled, displayName, iconClass}, enabled unless disabled is true), sorted by name.
func discovery(raw []byte) ([]resourceAction, error) {
	actions := []resourceAction{}
	if string(raw) == "[]" {
		return actions, nil
	}
	var byName map[string]json.RawMessage
	if err := json.Unmarshal(raw, &byName); err != nil {
		return nil, err
	}
	for name, v := range byName {
		a := resourceAction{}
		if !bytes.HasPrefix(v, []byte("[")) { // an empty table: enabled, no fields
			if err := json.Unmarshal(v, &a); err != nil {
				return nil, fmt.Errorf("action %s: %w", name, err)
			}
		}
		a.Name = name
		actions = append(actions, a)
	}
	sort.Slice(actions, func(i, j int) bool { return actions[i].Name < actions[j].Name })
	return actions, nil
}

// action reads an old-style result (the modified object) and undoes, as Argo CD's cleanReturnedObj
// does, the empty objects that Lua turned into empty arrays. A new-style result (a list of
// {operation, resource}) is printed as it is.
func action(raw []byte, input map[string]any) (any, error) {
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	if m, ok := out.(map[string]any); ok {
		return clean(m, input), nil
	}
	return out, nil
}

func clean(out, in map[string]any) map[string]any {
	for k, before := range in {
		after, ok := out[k]
		if !ok {
			continue
		}
		switch a := after.(type) {
		case map[string]any:
			if b, ok := before.(map[string]any); ok {
				out[k] = clean(a, b)
			}
		case []any:
			switch b := before.(type) {
			case map[string]any:
				if len(a) == 0 {
					out[k] = b
				}
			case []any:
				out[k] = cleanList(a, b)
			}
		}
	}
	return out
}

func cleanList(out, in []any) []any {
	for i := range out {
		if i >= len(in) {
			break
		}
		switch a := out[i].(type) {
		case map[string]any:
			if b, ok := in[i].(map[string]any); ok {
				out[i] = clean(a, b)
			}
		case []any:
			if b, ok := in[i].([]any); ok {
				out[i] = cleanList(a, b)
			}
		}
	}
	return out
}
