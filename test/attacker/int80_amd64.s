#include "textflag.h"

// func int80(nr, a1, a2, a3 uintptr) uintptr
// A system call through the i386 compat entry (int $0x80) from a 64-bit
// process: the arch a seccomp filter sees is AUDIT_ARCH_I386.
TEXT ·int80(SB),NOSPLIT,$0-40
	MOVQ nr+0(FP), AX
	MOVQ a1+8(FP), BX
	MOVQ a2+16(FP), CX
	MOVQ a3+24(FP), DX
	INT $0x80
	MOVQ AX, ret+32(FP)
	RET
