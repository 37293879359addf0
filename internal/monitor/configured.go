package monitor

// configured runs once the init stage has built the container and before
// it execs init: the device lines go on now, as LXC applies them, since a
// config may refuse the nodes its own setup makes (autodev's, the ptys).
func (m *Monitor) configured(pid int) error {
	if err := m.payload.ApplyDevices(m.cgroupSettings()); err != nil {
		return err
	}
	return m.holdNamespaces(pid)
}
