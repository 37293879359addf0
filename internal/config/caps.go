package config

import "github.com/golxc/golxc/internal/security"

// parseCapName accepts a capability as "sys_admin", "SYS_ADMIN",
// "cap_sys_admin" or its number, and returns the short lowercase
// spelling, so that everything downstream compares one form.
func parseCapName(s string) (string, error) {
	n, err := security.CapNumber(s)
	if err != nil {
		return "", err
	}
	return security.CapShortName(n), nil
}
