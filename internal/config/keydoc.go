package config

import (
	"fmt"
	"path/filepath"
	"strings"
)

// KeyDoc is what the manual says of one key, read from the key tables (the
// only place a key is defined), so lxc.container.conf(5) and
// lxc.system.conf(5) cannot drift from the parser.
type KeyDoc struct {
	Name    string // the key; a family prefix ends in "." (lxc.cgroup2.), a network key is lxc.net.N.SUBKEY
	Doc     string // its meaning, one line
	Values  string // the values it takes, when its kind says more than Doc
	Default string // its value when unset; "" for none
	List    bool   // repeatable: each line adds, an empty value clears
	Support Support
}

// KeyDocs lists the container config's keys in the order of
// lxc.container.conf(5), each network subkey after lxc.net.
func KeyDocs() []KeyDoc {
	def := New()
	var docs []KeyDoc
	for i := range keyTable {
		k := &keyTable[i]
		d := KeyDoc{Name: k.name, Doc: k.doc, List: k.list, Support: k.support}
		if k.field != nil {
			d.Values = fieldValues(k.field)
			if !k.prefix && !k.list {
				if v, err := k.field.get(def, k.name); err == nil {
					d.Default = v
				}
			}
		}
		if _, ok := k.field.(netField); ok {
			for _, sk := range netSubkeys {
				nd := KeyDoc{Name: "lxc.net.N." + sk.name, Doc: sk.doc, List: sk.list != nil, Support: k.support}
				switch {
				case sk.name == "type":
					nd.Values = strings.Join(netTypes, ", ")
				case sk.flag != nil:
					nd.Values, nd.Default = "0 or 1", "0"
				case sk.num != nil:
					nd.Values = fmt.Sprintf("0 to %d", sk.limit)
				}
				docs = append(docs, nd)
			}
			continue
		}
		docs = append(docs, d)
	}
	return docs
}

// fieldValues describes the values a kind of field takes.
func fieldValues(f field) string {
	switch f := f.(type) {
	case flagField:
		return "0 or 1"
	case numberField:
		return fmt.Sprintf("0 to %d", f.limit)
	case intField:
		return "an integer (negative too)"
	case signalField:
		return "a signal: its number, or its name with or without SIG (PWR, SIGRTMIN+3)"
	}
	return ""
}

// NetSubkeys lists the SUBKEY names of lxc.net.N.SUBKEY.
func NetSubkeys() []string {
	names := make([]string, len(netSubkeys))
	for i, sk := range netSubkeys {
		names[i] = sk.name
	}
	return names
}

// SystemKeyDocs lists the system config's keys (lxc.system.conf(5)) in
// lxc-config -l's order, with root's defaults; a user's are under $HOME.
func SystemKeyDocs() []KeyDoc {
	docs := make([]KeyDoc, len(systemKeys))
	for i, k := range systemKeys {
		docs[i] = KeyDoc{Name: k.name, Doc: k.doc, Support: Built}
		if k.def != nil {
			docs[i].Default = k.def("", true)
			if user := k.def("~", false); user != docs[i].Default {
				docs[i].Default += " (for a user: " + filepath.ToSlash(user) + ")"
			}
		}
	}
	return docs
}
