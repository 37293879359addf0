package config

// Support says what lxc-start does with a key that holds a value: every key
// of lxc.container.conf(5) parses, but not every feature is built yet, and a
// start must refuse a key it would otherwise ignore.
type Support int

const (
	// Built: the start applies the key.
	Built Support = iota
	// NotBuilt: the start refuses the key ("KEY is not supported yet").
	NotBuilt
	// OtherTools: the key matters only to other tools (autostart, logs,
	// lxc-destroy's storage): a start accepts it silently.
	OtherTools
	// NeedsAppArmor and NeedsSELinux: the start warns and goes on when the
	// host has no such security module, as LXC does, and applies the label
	// when it has one (security.PlanLabel decides).
	NeedsAppArmor
	NeedsSELinux
)

func (s Support) String() string {
	switch s {
	case Built:
		return "built"
	case NotBuilt:
		return "not built"
	case OtherTools:
		return "other tools"
	case NeedsAppArmor:
		return "apparmor"
	case NeedsSELinux:
		return "selinux"
	}
	return "unknown"
}

// SetKey is one key that holds a value other than its default.
type SetKey struct {
	Key     string
	Value   string // as Get gives it
	Support Support
}

// supporter is a prefix field that lists the concrete keys holding values,
// each with its support (the row's, unless a suffix decides otherwise).
type supporter interface {
	setKeys(c *Config, rowSupport Support) []SetKey
}

// clearer marks the bare keys that only clear a family (lxc.net,
// lxc.cgroup ...): they hold no value of their own.
type clearer interface {
	clearsOnly()
}

// SetKeys lists every key of c that differs from its default, in the order
// of the key table, with what a start does with it. A key set to its
// default value asks for nothing and is not listed.
func (c *Config) SetKeys() []SetKey {
	def := New()
	var keys []SetKey
	for i := range keyTable {
		k := &keyTable[i]
		if k.field == nil {
			continue
		}
		if _, ok := k.field.(clearer); ok {
			continue
		}
		if k.prefix {
			if s, ok := k.field.(supporter); ok {
				keys = append(keys, s.setKeys(c, k.support)...)
			}
			continue
		}
		v, err := k.field.get(c, k.name)
		if err != nil {
			continue
		}
		if d, _ := k.field.get(def, k.name); v == d {
			continue
		}
		s := k.support
		if k.builtIf != nil && k.builtIf(v) {
			s = Built
		}
		keys = append(keys, SetKey{Key: k.name, Value: v, Support: s})
	}
	return keys
}
