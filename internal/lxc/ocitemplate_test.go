package lxc

import (
	"strings"
	"testing"
)

func TestParseOCIArgs(t *testing.T) {
	for _, c := range []struct {
		args []string
		url  string
		err  string
	}{
		{[]string{"--url", "oci:/x"}, "oci:/x", ""},
		{[]string{"-u", "oci:/x"}, "oci:/x", ""},
		{[]string{"--url=oci:/x:tag", "--no-cache"}, "oci:/x:tag", ""},
		{[]string{"--url", "oci:/x", "--mapped-uid", "100000", "--mapped-gid=100000"}, "oci:/x", ""},
		{[]string{}, "", "no image given"},
		{[]string{"--url"}, "", "--url needs a value"},
		{[]string{"--url", "oci:/x", "--username", "me"}, "", "is for a registry"},
		{[]string{"--url", "oci:/x", "--password=pw"}, "", "is for a registry"},
		{[]string{"--url", "oci:/x", "--dhcp"}, "", "--dhcp needs lxc.hook.start-host"},
		{[]string{"--url", "oci:/x", "--bogus"}, "", `unknown option "--bogus"`},
		{[]string{"-h"}, "", "--url oci:DIR[:TAG]"},
	} {
		o, err := parseOCIArgs(c.args)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %+v %v, want an error saying %q", c.args, o, err, c.err)
			}
			continue
		}
		if err != nil || o.url != c.url {
			t.Errorf("%q: %+v %v, want url %q", c.args, o, err, c.url)
		}
	}
}
