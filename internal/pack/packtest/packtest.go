// Package packtest is for the tests of what goes through package pack:
// an audit of the types a message can reach, and random values of a type
// for round trips. Only tests import it.
package packtest

import (
	"encoding"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

var (
	jsonMarshaler   = reflect.TypeFor[json.Marshaler]()
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	binMarshaler    = reflect.TypeFor[encoding.BinaryMarshaler]()
	binUnmarshaler  = reflect.TypeFor[encoding.BinaryUnmarshaler]()
)

// Audit walks every type v's type reaches through what pack carries and
// fails t for each that pack cannot carry as encoding/json did: a type
// with its own JSON or text form (pack would carry its fields instead,
// or nothing), a kind pack refuses (interface, func, chan, complex,
// unsafe pointer), a struct with no exported field. A struct with a
// binary form of its own (netip.Addr) is carried in it and not walked:
// pack takes only the form the type itself makes (a decoder's laxer
// input is refused), which for netip's types says what their text form
// says. allowed lists the
// paths ("specs.Windows.CredentialSpec") known to be so and never set
// by golxc, each with its reason in the caller's comment.
func Audit(t *testing.T, v any, allowed ...string) {
	t.Helper()
	seen := map[reflect.Type]bool{}
	var used []string
	var walk func(typ reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		if slices.Contains(allowed, path) {
			used = append(used, path)
			return
		}
		if seen[typ] {
			return
		}
		seen[typ] = true
		if typ.Kind() == reflect.Struct && typ.Implements(binMarshaler) && reflect.PointerTo(typ).Implements(binUnmarshaler) {
			return
		}
		for _, i := range []reflect.Type{jsonMarshaler, jsonUnmarshaler, textMarshaler, textUnmarshaler} {
			if typ.Implements(i) || typ.Kind() != reflect.Pointer && reflect.PointerTo(typ).Implements(i) {
				t.Errorf("%s (%s) implements %s: pack would not carry it as encoding/json did", path, typ, i)
				return
			}
		}
		switch typ.Kind() {
		case reflect.Interface, reflect.Func, reflect.Chan, reflect.Complex64, reflect.Complex128, reflect.UnsafePointer:
			t.Errorf("%s (%s): pack does not carry kind %s", path, typ, typ.Kind())
		case reflect.Pointer, reflect.Slice, reflect.Array:
			walk(typ.Elem(), path+"[]")
		case reflect.Map:
			walk(typ.Key(), path+"[key]")
			walk(typ.Elem(), path+"[]")
		case reflect.Struct:
			carried := 0
			for i := range typ.NumField() {
				f := typ.Field(i)
				if !f.IsExported() && !f.Anonymous || f.Tag.Get("json") == "-" {
					continue
				}
				carried++
				walk(f.Type, typeName(typ)+"."+f.Name)
			}
			if carried == 0 && typ.Size() > 0 {
				t.Errorf("%s (%s) has no exported field: pack would carry nothing of it", path, typ)
			}
		}
	}
	typ := reflect.TypeOf(v)
	walk(typ, typeName(typ))
	for _, a := range allowed {
		if !slices.Contains(used, a) {
			t.Errorf("allowed %s is not reached any more: drop it from the list", a)
		}
	}
}

func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.String()
}

// Fill sets v (a pointer) to a random value of its type: nil, empty or
// full slices, maps and pointers, strings of any bytes. Interfaces, funcs
// and chans stay nil; unexported fields and `json:"-"` ones zero.
func Fill(r *rand.Rand, v any) {
	fill(r, reflect.ValueOf(v).Elem(), 0)
}

func fill(r *rand.Rand, v reflect.Value, depth int) {
	if depth > 12 {
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x := int64(r.Uint64())
		if r.IntN(2) == 0 {
			x = int64(r.IntN(300)) - 150
		}
		bits := v.Type().Bits()
		v.SetInt(x << (64 - bits) >> (64 - bits))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		x := r.Uint64()
		if r.IntN(2) == 0 {
			x = uint64(r.IntN(300))
		}
		bits := v.Type().Bits()
		v.SetUint(x << (64 - bits) >> (64 - bits))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(r.NormFloat64())
	case reflect.String:
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		if r.IntN(3) == 0 {
			b = []byte(strings.Repeat("é", len(b)))
		}
		v.SetString(string(b))
	case reflect.Slice:
		switch r.IntN(4) {
		case 0: // nil
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			n := 1 + r.IntN(4)
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := range n {
				fill(r, s.Index(i), depth+1)
			}
			v.Set(s)
		}
	case reflect.Array:
		for i := range v.Len() {
			fill(r, v.Index(i), depth+1)
		}
	case reflect.Map:
		switch r.IntN(4) {
		case 0:
		case 1:
			v.Set(reflect.MakeMap(v.Type()))
		default:
			m := reflect.MakeMap(v.Type())
			for range 1 + r.IntN(3) {
				k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
				fill(r, k, depth+1)
				fill(r, e, depth+1)
				m.SetMapIndex(k, e)
			}
			v.Set(m)
		}
	case reflect.Pointer:
		if r.IntN(3) > 0 {
			p := reflect.New(v.Type().Elem())
			fill(r, p.Elem(), depth+1)
			v.Set(p)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || f.Tag.Get("json") == "-" {
				continue
			}
			fill(r, v.Field(i), depth+1)
		}
	}
}
