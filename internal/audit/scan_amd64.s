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

// func indexNewlineAVX2(b []byte, m []byte) int
// One bit per byte of b up to its first '\n', whose offset it returns
// (len(b) when there is none), set where the byte is '"' or '\\': bit j
// of m[k] stands for b[8k+j]. The bits of the newline's block past it are
// set as for any other bytes: the caller clears them. m holds at least
// (len(b)+31)/32*4 bytes; b must be at least 32 bytes long (the last,
// partial block is read as the 32 bytes that end b, so that nothing past b
// is touched).
TEXT ·indexNewlineAVX2(SB), NOSPLIT, $0-56
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), DX
	MOVQ m_base+24(FP), DI
	MOVL $0x22, AX
	VMOVQ AX, X1
	VPBROADCASTB X1, Y1
	MOVL $0x5c, AX
	VMOVQ AX, X2
	VPBROADCASTB X2, Y2
	MOVL $0x0a, AX
	VMOVQ AX, X3
	VPBROADCASTB X3, Y3
	MOVQ DX, R10
	ANDQ $-32, R10               // the bytes in whole blocks
	XORQ CX, CX

block:
	CMPQ CX, R10
	JGE  tail
	VMOVDQU (SI)(CX*1), Y0
	VPCMPEQB Y1, Y0, Y4
	VPCMPEQB Y2, Y0, Y5
	VPCMPEQB Y3, Y0, Y6
	VPOR Y4, Y5, Y4
	VPMOVMSKB Y4, AX
	VPMOVMSKB Y6, BX
	MOVQ CX, R8
	SHRQ $3, R8
	MOVL AX, (DI)(R8*1)
	TESTL BX, BX
	JNZ  found
	ADDQ $32, CX
	JMP  block

found:
	BSFL BX, BX
	ADDQ BX, CX
	MOVQ CX, ret+48(FP)
	VZEROUPPER
	RET

tail:
	// The rest, 0-31 bytes, from the block that ends b: its bits for the
	// bytes before CX are shifted out.
	MOVQ DX, R8
	SUBQ CX, R8                  // rest
	JZ   none
	VMOVDQU -32(SI)(DX*1), Y0
	VPCMPEQB Y1, Y0, Y4
	VPCMPEQB Y2, Y0, Y5
	VPCMPEQB Y3, Y0, Y6
	VPOR Y4, Y5, Y4
	VPMOVMSKB Y4, AX
	VPMOVMSKB Y6, BX
	MOVQ CX, R10
	MOVQ $32, CX
	SUBQ R8, CX                  // shift = 32 - rest
	SHRL CX, AX
	SHRL CX, BX
	MOVQ R10, R8
	SHRQ $3, R8
	MOVL AX, (DI)(R8*1)
	TESTL BX, BX
	JZ   none
	BSFL BX, BX
	ADDQ BX, R10
	MOVQ R10, ret+48(FP)
	VZEROUPPER
	RET

none:
	MOVQ DX, ret+48(FP)
	VZEROUPPER
	RET
