#include "textflag.h"

// func scanStringFast(b []byte, i int) (end int, esc bool)
TEXT ·scanStringFast(SB), NOSPLIT, $0-41
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), DX
	MOVQ i+24(FP), AX
	XORL R8, R8                  // esc
	MOVQ $0x2222222222222222, BX // '"' in every byte
	MOVQ BX, X1
	PUNPCKLQDQ X1, X1
	MOVQ $0x5c5c5c5c5c5c5c5c, BX // '\\' in every byte
	MOVQ BX, X2
	PUNPCKLQDQ X2, X2

loop:
	// Sixteen bytes at b[AX] while they are in b, then byte by byte.
	LEAQ 16(AX), CX
	CMPQ CX, DX
	JGT  tail
	MOVOU (SI)(AX*1), X0
	MOVOU X0, X3
	PCMPEQB X1, X0
	PCMPEQB X2, X3
	POR  X3, X0
	PMOVMSKB X0, BX
	TESTL BX, BX
	JNZ  found
	MOVQ CX, AX
	JMP  loop

found:
	BSFL BX, BX
	ADDQ BX, AX
	JMP  check

tail:
	CMPQ AX, DX
	JGE  unterminated
	MOVBLZX (SI)(AX*1), BX
	CMPL BX, $0x22
	JEQ  check
	CMPL BX, $0x5c
	JEQ  check
	INCQ AX
	JMP  tail

check:
	// b[AX] is a quote, or a backslash that escapes the byte after it.
	MOVBLZX (SI)(AX*1), BX
	CMPL BX, $0x22
	JEQ  quote
	MOVL $1, R8
	ADDQ $2, AX
	CMPQ AX, DX
	JGT  unterminated
	JMP  loop

quote:
	MOVQ AX, end+32(FP)
	MOVB R8, esc+40(FP)
	RET

unterminated:
	MOVQ $-1, end+32(FP)
	MOVB R8, esc+40(FP)
	RET

// func prefetch(b []byte)
TEXT ·prefetch(SB), NOSPLIT, $0-24
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), CX
	ADDQ SI, CX
loop:
	CMPQ SI, CX
	JGE  done
	PREFETCHT0 (SI)
	ADDQ $64, SI
	JMP  loop
done:
	RET
