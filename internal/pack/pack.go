// Package pack encodes Go values compactly for what golxc hands a re-exec
// of its own binary (the init stage's spec, the attach helper's request
// and report): encoding/json learns each type tree at its first use in a
// process, ~0.7 ms for a runtime spec in every fresh stage, where this
// walks the value alone.
//
// The form has no names: struct fields go in their order, so both ends
// must be the same binary. Nothing that outlives the process (records)
// or crosses versions may use it: the shared monitor's protocol uses it
// only with a tool of its very binary (lxc.sameBinary). Decoding takes
// hostile input: a process in a container may write what is decoded.
//
// Carried: bools, integers, floats, strings, slices and maps (nil kept
// apart from empty), arrays, pointers (nil kept) and structs, by their
// exported fields in order, skipping `json:"-"` ones. A struct with a
// binary form of its own (encoding.BinaryMarshaler, its pointer a
// BinaryUnmarshaler: netip.Addr, netip.Prefix) is carried in that form,
// not by its fields, which are often all unexported. An interface is
// carried only when nil; a func, chan, complex or unsafe pointer, or a
// struct with nothing to carry (its fields all unexported), is an error
// naming where it is.
package pack

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Version is the first byte of every encoding, for a form that changes.
const Version = 1

// maxDepth bounds how deep values nest (pointers, slices, maps, structs,
// arrays): a runtime spec goes ~10 deep.
const maxDepth = 64

// chunk bounds what a slice's length may allocate before its elements
// are read: a longer one grows as its elements come.
const chunk = 64 << 10

// Marshal encodes v, or what it points to: Unmarshal into a pointer to
// v's type (or to what it points to) decodes it.
func Marshal(v any) ([]byte, error) { return marshal(v, false) }

// ErrNotUTF8 is MarshalUTF8's error for a string that is not valid UTF-8.
var ErrNotUTF8 = errors.New("a string that is not valid UTF-8")

// MarshalUTF8 is Marshal for a form that must mean what the value's JSON
// means (JSON turns such bytes into U+FFFD): a string that is not valid
// UTF-8 is an error (ErrNotUTF8), for the caller to use JSON instead.
func MarshalUTF8(v any) ([]byte, error) { return marshal(v, true) }

func marshal(v any, utf8Only bool) ([]byte, error) {
	e := &encoder{buf: make([]byte, 1, 1024), layouts: layouts{}, utf8Only: utf8Only}
	e.buf[0] = Version
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil, fmt.Errorf("pack %s: nil", rv.Type())
		}
		rv = rv.Elem()
	}
	if err := e.value(rv, 0); err != nil {
		return nil, fmt.Errorf("pack %s: %w", typeName(rv), err)
	}
	return e.buf, nil
}

// Unmarshal decodes data, which Marshal made of a value of the type v
// points to, into *v (overwritten whole). A panic is never let out: a
// hostile encoding that finds a bug here is an error (a *PanicError,
// which fuzz tests look for) like any other.
func Unmarshal(data []byte, v any) (err error) { return unmarshalRecovered(data, v, false) }

// UnmarshalUTF8 is Unmarshal that refuses, with ErrNotUTF8, a string that
// is not valid UTF-8: the decoding side of MarshalUTF8.
func UnmarshalUTF8(data []byte, v any) error { return unmarshalRecovered(data, v, true) }

func unmarshalRecovered(data []byte, v any, utf8Only bool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r}
		}
	}()
	return unmarshal(data, v, utf8Only)
}

// PanicError is a panic of Unmarshal's, recovered: a bug.
type PanicError struct{ Value any }

func (e *PanicError) Error() string { return fmt.Sprintf("unpack: internal error: %v", e.Value) }

func unmarshal(data []byte, v any, utf8Only bool) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("unpack into %T: not a non-nil pointer", v)
	}
	if len(data) == 0 {
		return errors.New("unpack: empty")
	}
	if data[0] != Version {
		return fmt.Errorf("unpack: form %d, want %d", data[0], Version)
	}
	d := &decoder{data: data, off: 1, elements: len(data), layouts: layouts{}, utf8Only: utf8Only}
	elem := rv.Elem()
	elem.SetZero()
	if err := d.value(elem, 0); err != nil {
		return fmt.Errorf("unpack %s: %w", typeName(elem), err)
	}
	if d.off != len(d.data) {
		return fmt.Errorf("unpack %s: %d trailing bytes", typeName(elem), len(d.data)-d.off)
	}
	return nil
}

func typeName(v reflect.Value) string {
	if !v.IsValid() {
		return "nil"
	}
	return v.Type().String()
}

// pathError is an error at a place in the value, its path built as the
// walk unwinds.
type pathError struct {
	rev []string // the path's parts, innermost first
	err error
}

func (e *pathError) Error() string {
	var b strings.Builder
	for _, p := range slices.Backward(e.rev) {
		b.WriteString(p)
	}
	b.WriteString(": ")
	b.WriteString(e.err.Error())
	return b.String()
}

func (e *pathError) Unwrap() error { return e.err }

// at adds part to err's path.
func at(err error, part string) error {
	var pe *pathError
	if errors.As(err, &pe) {
		pe.rev = append(pe.rev, part)
		return pe
	}
	return &pathError{rev: []string{part}, err: err}
}

func index(i int) string { return "[" + strconv.Itoa(i) + "]" }

// keyPart is a map key in a path, quoted when a string (a hostile one
// may hold a newline).
func keyPart(k reflect.Value) string {
	if k.Kind() == reflect.String {
		return "[" + strconv.Quote(k.String()) + "]"
	}
	return fmt.Sprintf("[%v]", k)
}

// layouts memoizes how each struct type met in one Marshal or Unmarshal
// is carried (a spec has ~20 mounts of one type); nothing of a type
// outlives the call. An unexported embedded struct is carried: its
// exported fields are promoted, as encoding/json takes them.
type layouts map[reflect.Type]layout

// layout is how a struct type is carried: the indices of its fields, or
// its own binary form.
type layout struct {
	fields []int
	binary bool
}

// binaryMarshaler and binaryUnmarshaler are functions, not variables
// set at start-up: every golxc process would pay for them
// (TestStartupInitWork).
func binaryMarshaler() reflect.Type   { return reflect.TypeFor[encoding.BinaryMarshaler]() }
func binaryUnmarshaler() reflect.Type { return reflect.TypeFor[encoding.BinaryUnmarshaler]() }

func (l layouts) of(t reflect.Type) (layout, error) {
	if lay, ok := l[t]; ok {
		return lay, nil
	}
	if t.Implements(binaryMarshaler()) || reflect.PointerTo(t).Implements(binaryUnmarshaler()) {
		// Its own form only if the type itself declares both ends, the
		// decoding one on its pointer: a method promoted from an embedded
		// field would carry that field alone, and an UnmarshalBinary on a
		// value would decode into a copy.
		for i := range t.NumField() {
			if sf := t.Field(i); sf.Anonymous && hasBinaryForm(sf.Type) {
				return layout{}, at(errPromoted, "."+sf.Name)
			}
		}
		if !t.Implements(binaryMarshaler()) || !reflect.PointerTo(t).Implements(binaryUnmarshaler()) || t.Implements(binaryUnmarshaler()) {
			return layout{}, errHalfBinary
		}
		l[t] = layout{binary: true}
		return l[t], nil
	}
	var fs []int
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() && !sf.Anonymous {
			continue
		}
		// Tag.Get parses the whole tag: looked at only when it may say "-".
		if strings.Contains(string(sf.Tag), `json:"-"`) && sf.Tag.Get("json") == "-" {
			continue
		}
		if !sf.IsExported() && sf.Type.Kind() != reflect.Struct {
			return layout{}, at(errors.New("unexported embedded non-struct"), "."+sf.Name)
		}
		fs = append(fs, i)
	}
	if len(fs) == 0 && t.Size() > 0 {
		return layout{}, errNothing
	}
	l[t] = layout{fields: fs}
	return l[t], nil
}

// errHidden: a struct with its own binary form reached through an
// unexported embedded field, whose methods reflect may not call.
var errHidden = errors.New("struct with a binary form in an unexported embedded field")

var errNothing = errors.New("struct with no exported field to carry")

var (
	errNotCanonical = errors.New("binary form not as its type makes it")
	errNoText       = errors.New("binary form of a value whose text form does not read back")
)

var (
	errPromoted   = errors.New("struct that embeds a type with a binary form (its own cannot be told from the embedded one's)")
	errHalfBinary = errors.New("struct with half a binary form (MarshalBinary on its value and UnmarshalBinary on its pointer, both, are needed)")
)

// hasBinaryForm reports whether t, or its pointer, has either method of
// a binary form.
func hasBinaryForm(t reflect.Type) bool {
	for _, u := range []reflect.Type{t, reflect.PointerTo(t)} {
		if u.Implements(binaryMarshaler()) || u.Implements(binaryUnmarshaler()) {
			return true
		}
	}
	return false
}

func unsupported(k reflect.Kind) error {
	return fmt.Errorf("unsupported kind %s", k)
}

type encoder struct {
	buf      []byte
	layouts  layouts
	utf8Only bool // MarshalUTF8
}

func (e *encoder) uvarint(x uint64) { e.buf = binary.AppendUvarint(e.buf, x) }

// length encodes n, or nil as 0.
func (e *encoder) length(n int, isNil bool) {
	if isNil {
		e.buf = append(e.buf, 0)
		return
	}
	e.uvarint(uint64(n) + 1)
}

func (e *encoder) value(v reflect.Value, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("nested deeper than %d", maxDepth)
	}
	switch v.Kind() {
	case reflect.Bool:
		b := byte(0)
		if v.Bool() {
			b = 1
		}
		e.buf = append(e.buf, b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.buf = binary.AppendVarint(e.buf, v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.uvarint(v.Uint())
	case reflect.Float32:
		e.buf = binary.LittleEndian.AppendUint32(e.buf, math.Float32bits(float32(v.Float())))
	case reflect.Float64:
		e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(v.Float()))
	case reflect.String:
		s := v.String()
		if e.utf8Only && !utf8.ValidString(s) {
			return ErrNotUTF8
		}
		e.uvarint(uint64(len(s)))
		e.buf = append(e.buf, s...)
	case reflect.Slice:
		e.length(v.Len(), v.IsNil())
		if v.Type().Elem().Kind() == reflect.Uint8 {
			e.buf = append(e.buf, v.Bytes()...)
			return nil
		}
		for i := range v.Len() {
			if err := e.value(v.Index(i), depth+1); err != nil {
				return at(err, index(i))
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			if err := e.value(v.Index(i), depth+1); err != nil {
				return at(err, index(i))
			}
		}
	case reflect.Map:
		e.length(v.Len(), v.IsNil())
		for it := v.MapRange(); it.Next(); {
			if err := e.value(it.Key(), depth+1); err != nil {
				return at(err, "[key]")
			}
			if err := e.value(it.Value(), depth+1); err != nil {
				return at(err, keyPart(it.Key()))
			}
		}
	case reflect.Pointer:
		if v.IsNil() {
			e.buf = append(e.buf, 0)
			return nil
		}
		e.buf = append(e.buf, 1)
		return e.value(v.Elem(), depth+1)
	case reflect.Interface:
		if !v.IsNil() {
			return fmt.Errorf("unsupported kind interface (holding %s)", v.Elem().Type())
		}
		e.buf = append(e.buf, 0)
	case reflect.Struct:
		return e.structValue(v, depth)
	default:
		return unsupported(v.Kind())
	}
	return nil
}

func (e *encoder) structValue(v reflect.Value, depth int) error {
	lay, err := e.layouts.of(v.Type())
	if err != nil {
		return err
	}
	if lay.binary {
		if !v.CanInterface() {
			return errHidden
		}
		b, err := v.Interface().(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return err
		}
		e.uvarint(uint64(len(b)))
		e.buf = append(e.buf, b...)
		return nil
	}
	for _, i := range lay.fields {
		if err := e.value(v.Field(i), depth+1); err != nil {
			return at(err, "."+v.Type().Field(i).Name)
		}
	}
	return nil
}

type decoder struct {
	data []byte
	off  int
	// elements left to decode in slices and maps: every element of a
	// type pack carries takes at least one byte, so a decode never has
	// more elements than bytes; one that claims more (elements of no
	// size, which would cost no bytes each) is refused rather than
	// looped over.
	elements int
	layouts  layouts
	utf8Only bool // UnmarshalUTF8
}

// element takes one slice element or map entry from the budget.
func (d *decoder) element() error {
	if d.elements <= 0 {
		return errors.New("more elements than bytes")
	}
	d.elements--
	return nil
}

var errTruncated = errors.New("truncated")

func (d *decoder) uvarint() (uint64, error) {
	x, n := binary.Uvarint(d.data[d.off:])
	if n <= 0 {
		if n == 0 {
			return 0, errTruncated
		}
		return 0, errors.New("varint overflows 64 bits")
	}
	d.off += n
	return x, nil
}

func (d *decoder) varint() (int64, error) {
	x, n := binary.Varint(d.data[d.off:])
	if n <= 0 {
		if n == 0 {
			return 0, errTruncated
		}
		return 0, errors.New("varint overflows 64 bits")
	}
	d.off += n
	return x, nil
}

func (d *decoder) byte() (byte, error) {
	if d.off >= len(d.data) {
		return 0, errTruncated
	}
	b := d.data[d.off]
	d.off++
	return b, nil
}

// flag reads a byte that must be 0 or 1.
func (d *decoder) flag() (bool, error) {
	b, err := d.byte()
	if err != nil {
		return false, err
	}
	if b > 1 {
		return false, fmt.Errorf("byte %d where 0 or 1 is due", b)
	}
	return b == 1, nil
}

// size reads a length, which is never more than the bytes left.
func (d *decoder) size() (int, error) {
	x, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if left := uint64(len(d.data) - d.off); x > left {
		return 0, fmt.Errorf("length %d past the %d bytes left", x, left)
	}
	return int(x), nil
}

// length reads a slice's or map's length: -1 for nil.
func (d *decoder) length() (int, error) {
	x, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if x == 0 {
		return -1, nil
	}
	if left := uint64(len(d.data) - d.off); x-1 > left {
		return 0, fmt.Errorf("length %d past the %d bytes left", x-1, left)
	}
	return int(x - 1), nil
}

func (d *decoder) fixed(n int) ([]byte, error) {
	if len(d.data)-d.off < n {
		return nil, errTruncated
	}
	b := d.data[d.off : d.off+n]
	d.off += n
	return b, nil
}

func (d *decoder) value(v reflect.Value, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("nested deeper than %d", maxDepth)
	}
	switch v.Kind() {
	case reflect.Bool:
		b, err := d.flag()
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x, err := d.varint()
		if err != nil {
			return err
		}
		if v.OverflowInt(x) {
			return fmt.Errorf("%d overflows %s", x, v.Type())
		}
		v.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		x, err := d.uvarint()
		if err != nil {
			return err
		}
		if v.OverflowUint(x) {
			return fmt.Errorf("%d overflows %s", x, v.Type())
		}
		v.SetUint(x)
	case reflect.Float32:
		b, err := d.fixed(4)
		if err != nil {
			return err
		}
		v.SetFloat(float64(math.Float32frombits(binary.LittleEndian.Uint32(b))))
	case reflect.Float64:
		b, err := d.fixed(8)
		if err != nil {
			return err
		}
		v.SetFloat(math.Float64frombits(binary.LittleEndian.Uint64(b)))
	case reflect.String:
		n, err := d.size()
		if err != nil {
			return err
		}
		if d.utf8Only && !utf8.Valid(d.data[d.off:d.off+n]) {
			return ErrNotUTF8
		}
		// A string of its own, not a slice of the data: a long-lived
		// value decoded from a message must not keep all of it.
		v.SetString(string(d.data[d.off : d.off+n]))
		d.off += n
	case reflect.Slice:
		return d.slice(v, depth)
	case reflect.Array:
		for i := range v.Len() {
			if err := d.element(); err != nil {
				return err
			}
			if err := d.value(v.Index(i), depth+1); err != nil {
				return at(err, index(i))
			}
		}
	case reflect.Map:
		n, err := d.length()
		if err != nil || n < 0 {
			return err
		}
		t := v.Type()
		m := reflect.MakeMapWithSize(t, min(n, 64))
		k, e := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
		for range n {
			if err := d.element(); err != nil {
				return err
			}
			k.SetZero()
			e.SetZero()
			if err := d.value(k, depth+1); err != nil {
				return at(err, "[key]")
			}
			if err := d.value(e, depth+1); err != nil {
				return at(err, keyPart(k))
			}
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Pointer:
		set, err := d.flag()
		if err != nil || !set {
			return err
		}
		p := reflect.New(v.Type().Elem())
		if err := d.value(p.Elem(), depth+1); err != nil {
			return err
		}
		v.Set(p)
	case reflect.Interface:
		set, err := d.flag()
		if err != nil {
			return err
		}
		if set {
			return errors.New("unsupported kind interface (not nil)")
		}
	case reflect.Struct:
		return d.structValue(v, depth)
	default:
		return unsupported(v.Kind())
	}
	return nil
}

// slice decodes a slice, allocating no more than chunk bytes ahead of
// the elements read: a hostile length costs what its elements do.
func (d *decoder) slice(v reflect.Value, depth int) error {
	n, err := d.length()
	if err != nil || n < 0 {
		return err
	}
	t := v.Type()
	if t.Elem().Kind() == reflect.Uint8 {
		b, err := d.fixed(n) // within the bytes left: allocated at once
		if err != nil {
			return err
		}
		s := reflect.MakeSlice(t, n, n)
		copy(s.Bytes(), b)
		v.Set(s)
		return nil
	}
	size := int(t.Elem().Size())
	c := n
	if size > 0 && n > chunk/size {
		c = chunk / size
	}
	s := reflect.MakeSlice(t, c, c)
	for i := range n {
		if i == c {
			c = min(2*c, n)
			grown := reflect.MakeSlice(t, c, c)
			reflect.Copy(grown, s)
			s = grown
		}
		if err := d.element(); err != nil {
			return err
		}
		if err := d.value(s.Index(i), depth+1); err != nil {
			return at(err, index(i))
		}
	}
	v.Set(s)
	return nil
}

func (d *decoder) structValue(v reflect.Value, depth int) error {
	lay, err := d.layouts.of(v.Type())
	if err != nil {
		return err
	}
	if lay.binary {
		n, err := d.size()
		if err != nil {
			return err
		}
		// Every value decoded into is addressable (a field, an element
		// or a new value); UnmarshalBinary copies what it keeps.
		if !v.CanAddr() || !v.Addr().CanInterface() {
			return errHidden
		}
		b := d.data[d.off : d.off+n]
		d.off += n
		if err := v.Addr().Interface().(encoding.BinaryUnmarshaler).UnmarshalBinary(b); err != nil {
			return err
		}
		// Only the form Marshal makes is taken: a decoder may accept what
		// it cannot give back (netip.Prefix takes a length out of range
		// and makes an invalid prefix, which its JSON then cannot be
		// read from).
		again, err := v.Interface().(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			return errNotCanonical
		}
		// A form can be stable and still lossy (an invalid prefix of
		// length 255 gives back its bytes): one with a text form must
		// say a text that reads back, as its JSON will have to.
		if tm, ok := v.Interface().(encoding.TextMarshaler); ok {
			back, ok := reflect.New(v.Type()).Interface().(encoding.TextUnmarshaler)
			if !ok {
				return nil
			}
			txt, err := tm.MarshalText()
			if err != nil {
				return errNoText
			}
			if err := back.UnmarshalText(txt); err != nil {
				return errNoText
			}
		}
		return nil
	}
	for _, i := range lay.fields {
		if err := d.value(v.Field(i), depth+1); err != nil {
			return at(err, "."+v.Type().Field(i).Name)
		}
	}
	return nil
}
