package elbapi

import (
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The AWS Query protocol sends an operation's input as form parameters:
// members by name ("Name=web"), structures with dotted names
// ("Matcher.HttpCode=200"), lists as "Tags.member.1.Key=env" counting from 1,
// and an empty list as the bare name ("Tags="). decodeForm fills a struct
// whose fields carry the member names in `q` tags; fields of kinds string,
// int32, bool (or pointers to them), structs and slices of those.
//
// Parameters it does not know are ignored, as new SDKs send members older
// servers lack. Malformed values are ValidationError with the member's name.

// maxListIndex bounds list indexes, so that "Targets.member.999999999=x"
// cannot ask for a huge slice.
const maxListIndex = 1000

// form is the parsed parameters with their names sorted, for prefix scans.
type form struct {
	vals url.Values
	keys []string
}

func newForm(vals url.Values) *form {
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return &form{vals: vals, keys: keys}
}

// has reports whether name is given, or any member under name + ".".
func (f *form) has(name string) bool {
	if _, ok := f.vals[name]; ok {
		return true
	}
	return len(f.under(name+".")) > 0
}

// under lists the parameter names that start with prefix.
func (f *form) under(prefix string) []string {
	i := sort.SearchStrings(f.keys, prefix)
	j := i
	for j < len(f.keys) && strings.HasPrefix(f.keys[j], prefix) {
		j++
	}
	return f.keys[i:j]
}

// decodeForm parses body and fills v, a pointer to a struct.
func decodeForm(vals url.Values, v any) error {
	f := newForm(vals)
	return f.decodeStruct("", reflect.ValueOf(v).Elem())
}

func (f *form) decodeStruct(prefix string, sv reflect.Value) error {
	st := sv.Type()
	for i := 0; i < st.NumField(); i++ {
		sf := st.Field(i)
		name := sf.Tag.Get("q")
		if name == "" {
			if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
				// An embedded group of members at the same level.
				if err := f.decodeStruct(prefix, sv.Field(i)); err != nil {
					return err
				}
			}
			continue
		}
		if err := f.decodeValue(prefix+name, sv.Field(i)); err != nil {
			return err
		}
	}
	return nil
}

func (f *form) decodeValue(name string, fv reflect.Value) error {
	switch fv.Kind() {
	case reflect.Pointer:
		if !f.has(name) {
			return nil
		}
		nv := reflect.New(fv.Type().Elem())
		if err := f.decodeValue(name, nv.Elem()); err != nil {
			return err
		}
		fv.Set(nv)
		return nil
	case reflect.Struct:
		return f.decodeStruct(name+".", fv)
	case reflect.Slice:
		return f.decodeList(name, fv)
	}
	raw, ok := f.vals[name]
	if !ok {
		return nil
	}
	s := raw[0]
	if !utf8.ValidString(s) {
		return validation("The value of %s is not valid UTF-8.", name)
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(s)
	case reflect.Int32:
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return validation("%s must be a whole number; got %q.", name, truncate(s))
		}
		fv.SetInt(n)
	case reflect.Bool:
		switch s {
		case "true":
			fv.SetBool(true)
		case "false":
			fv.SetBool(false)
		default:
			return validation("%s must be true or false; got %q.", name, truncate(s))
		}
	default:
		return fmt.Errorf("elbapi: field %s has unsupported kind %s", name, fv.Kind())
	}
	return nil
}

// decodeList reads NAME.member.N for N from 1 in order. Gaps are allowed;
// the members are taken in index order.
func (f *form) decodeList(name string, fv reflect.Value) error {
	prefix := name + ".member."
	idx := map[int]bool{}
	for _, k := range f.under(prefix) {
		rest := k[len(prefix):]
		num, _, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || n > maxListIndex || strconv.Itoa(n) != num {
			return validation("Invalid list parameter %s: list members are numbered %s1 to %s%d.", truncate(k), prefix, prefix, maxListIndex)
		}
		idx[n] = true
	}
	if len(idx) == 0 {
		if _, ok := f.vals[name]; ok {
			fv.Set(reflect.MakeSlice(fv.Type(), 0, 0)) // "Name=": an empty list
		}
		return nil
	}
	order := make([]int, 0, len(idx))
	for n := range idx {
		order = append(order, n)
	}
	sort.Ints(order)
	out := reflect.MakeSlice(fv.Type(), len(order), len(order))
	for i, n := range order {
		if err := f.decodeValue(prefix+strconv.Itoa(n), out.Index(i)); err != nil {
			return err
		}
	}
	fv.Set(out)
	return nil
}

// truncate shortens a value quoted back in an error message.
func truncate(s string) string {
	if len(s) <= 64 {
		return s
	}
	cut := 64
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
