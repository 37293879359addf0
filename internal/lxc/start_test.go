package lxc

import (
	"testing"

	"github.com/sirupsen/logrus"
)

func TestParseLogLevel(t *testing.T) {
	tests := []struct {
		in   string
		want logrus.Level
	}{
		{"TRACE", logrus.TraceLevel},
		{"trace", logrus.TraceLevel},
		{"0", logrus.TraceLevel},
		{"DEBUG", logrus.DebugLevel},
		{"1", logrus.DebugLevel},
		{"INFO", logrus.InfoLevel},
		{"2", logrus.InfoLevel},
		{"NOTICE", logrus.InfoLevel},
		{"3", logrus.InfoLevel},
		{"WARN", logrus.WarnLevel},
		{"warning", logrus.WarnLevel},
		{"4", logrus.WarnLevel},
		{"ERROR", logrus.ErrorLevel},
		{"5", logrus.ErrorLevel},
		{"CRIT", logrus.FatalLevel},
		{"6", logrus.FatalLevel},
		{"ALERT", logrus.FatalLevel},
		{"7", logrus.FatalLevel},
		{"FATAL", logrus.FatalLevel},
		{"8", logrus.FatalLevel},
		{" debug ", logrus.DebugLevel},
		{"", logrus.ErrorLevel},
		{"9", logrus.ErrorLevel},
		{"-1", logrus.ErrorLevel},
		{"verbose", logrus.ErrorLevel},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := ParseLogLevel(tt.in); got != tt.want {
				t.Errorf("ParseLogLevel(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
