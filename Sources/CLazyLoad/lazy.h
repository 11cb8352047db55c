// Internal to CLazyLoad: a group of libraries loaded together, and the trampolines that call into it.
#ifndef LONGCTX_LAZY_INTERNAL_H
#define LONGCTX_LAZY_INTERNAL_H

#include <pthread.h>

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
#define LONGCTX_LAZY 1
#else
#define LONGCTX_LAZY 0
#endif

#define LONGCTX_LAZY_MAX_SONAMES 4

/// A group of libraries dlopen()ed together (the first is the one its users name; the others are its
/// dependencies, listed so that a symbol is found whichever of them defines it).
struct longctx_lazy_group {
  const char *name;
  const char *const *sonames;
  const char *const *symbols;
  void **table;
  unsigned count;
  pthread_mutex_t lock;
  int state;  // 0 not tried, 1 loaded, -1 failed
  void *handles[LONGCTX_LAZY_MAX_SONAMES];
  char error[512];
};

/// Opens the group's libraries once. Returns 1 when loaded; 0 with the reason in `*error` otherwise.
int longctx_lazy_open(struct longctx_lazy_group *group, const char **error);

/// The address of the group's symbol `index`, resolved and cached; aborts when it cannot be found.
/// Called by the trampolines' slow path.
void *longctx_lazy_resolve(struct longctx_lazy_group *group, unsigned index);

#if LONGCTX_LAZY && defined(__x86_64__)

// The fast path: jump through the cached address; the first call goes to the group's slow path with the
// symbol's index in r11. Every argument register (and al, the vector count of a variadic call) is kept.
#define LONGCTX_LAZY_TRAMPOLINE(group, index, symbol)                                                        \
  __asm__(".text\n.globl " #symbol "\n.hidden " #symbol "\n.type " #symbol ",@function\n.p2align 4\n" #symbol \
          ":\n"                                                                                              \
          "  movq longctx_lazy_" #group "_table+8*" #index "(%rip), %r11\n"                                  \
          "  testq %r11, %r11\n"                                                                             \
          "  jz 1f\n"                                                                                        \
          "  jmpq *%r11\n"                                                                                   \
          "1:\n"                                                                                             \
          "  movl $" #index ", %r11d\n"                                                                      \
          "  jmp longctx_lazy_" #group "_slow\n"                                                             \
          ".size " #symbol ", .-" #symbol "\n");

// The slow path: save the argument registers, resolve, restore, jump to the real function (which returns
// to the original caller).
#define LONGCTX_LAZY_SLOW_PATH(group)                                                                        \
  __asm__(".text\n.hidden longctx_lazy_" #group "_slow\n.type longctx_lazy_" #group "_slow,@function\n"       \
          ".p2align 4\nlongctx_lazy_" #group "_slow:\n"                                                      \
          "  pushq %rbp\n  movq %rsp, %rbp\n"                                                                \
          "  pushq %rdi\n  pushq %rsi\n  pushq %rdx\n  pushq %rcx\n  pushq %r8\n  pushq %r9\n  pushq %rax\n"    \
          "  subq $136, %rsp\n"                                                                              \
          "  movdqu %xmm0, 0(%rsp)\n  movdqu %xmm1, 16(%rsp)\n  movdqu %xmm2, 32(%rsp)\n"                     \
          "  movdqu %xmm3, 48(%rsp)\n  movdqu %xmm4, 64(%rsp)\n  movdqu %xmm5, 80(%rsp)\n"                    \
          "  movdqu %xmm6, 96(%rsp)\n  movdqu %xmm7, 112(%rsp)\n"                                            \
          "  leaq longctx_lazy_" #group "(%rip), %rdi\n"                                                     \
          "  movl %r11d, %esi\n"                                                                             \
          "  call longctx_lazy_resolve\n"                                                                    \
          "  movq %rax, %r11\n"                                                                              \
          "  movdqu 0(%rsp), %xmm0\n  movdqu 16(%rsp), %xmm1\n  movdqu 32(%rsp), %xmm2\n"                     \
          "  movdqu 48(%rsp), %xmm3\n  movdqu 64(%rsp), %xmm4\n  movdqu 80(%rsp), %xmm5\n"                    \
          "  movdqu 96(%rsp), %xmm6\n  movdqu 112(%rsp), %xmm7\n"                                            \
          "  addq $136, %rsp\n"                                                                              \
          "  popq %rax\n  popq %r9\n  popq %r8\n  popq %rcx\n  popq %rdx\n  popq %rsi\n  popq %rdi\n"          \
          "  popq %rbp\n"                                                                                    \
          "  jmpq *%r11\n"                                                                                   \
          ".size longctx_lazy_" #group "_slow, .-longctx_lazy_" #group "_slow\n");

#elif LONGCTX_LAZY && defined(__aarch64__)

// The same on AArch64 (assembled and linked, not yet run on such a machine): x16 holds the address, x17 the
// index; x0-x8 and q0-q7 are kept across the resolver.
#define LONGCTX_LAZY_TRAMPOLINE(group, index, symbol)                                                        \
  __asm__(".text\n.globl " #symbol "\n.hidden " #symbol "\n.type " #symbol ",%function\n.p2align 2\n" #symbol \
          ":\n"                                                                                              \
          "  adrp x16, longctx_lazy_" #group "_table+8*" #index "\n"                                         \
          "  ldr x16, [x16, :lo12:longctx_lazy_" #group "_table+8*" #index "]\n"                             \
          "  cbz x16, 1f\n"                                                                                  \
          "  br x16\n"                                                                                       \
          "1:\n"                                                                                             \
          "  mov x17, #" #index "\n"                                                                         \
          "  b longctx_lazy_" #group "_slow\n"                                                               \
          ".size " #symbol ", .-" #symbol "\n");

#define LONGCTX_LAZY_SLOW_PATH(group)                                                                        \
  __asm__(".text\n.hidden longctx_lazy_" #group "_slow\n.type longctx_lazy_" #group "_slow,%function\n"       \
          ".p2align 2\nlongctx_lazy_" #group "_slow:\n"                                                      \
          "  stp x29, x30, [sp, #-224]!\n  mov x29, sp\n"                                                    \
          "  stp x0, x1, [sp, #16]\n  stp x2, x3, [sp, #32]\n  stp x4, x5, [sp, #48]\n"                     \
          "  stp x6, x7, [sp, #64]\n  str x8, [sp, #80]\n"                                                  \
          "  stp q0, q1, [sp, #96]\n  stp q2, q3, [sp, #128]\n  stp q4, q5, [sp, #160]\n"                   \
          "  stp q6, q7, [sp, #192]\n"                                                                      \
          "  adrp x0, longctx_lazy_" #group "\n  add x0, x0, :lo12:longctx_lazy_" #group "\n"               \
          "  mov w1, w17\n"                                                                                  \
          "  bl longctx_lazy_resolve\n"                                                                      \
          "  mov x16, x0\n"                                                                                  \
          "  ldp q6, q7, [sp, #192]\n  ldp q4, q5, [sp, #160]\n  ldp q2, q3, [sp, #128]\n"                  \
          "  ldp q0, q1, [sp, #96]\n  ldr x8, [sp, #80]\n  ldp x6, x7, [sp, #64]\n"                        \
          "  ldp x4, x5, [sp, #48]\n  ldp x2, x3, [sp, #32]\n  ldp x0, x1, [sp, #16]\n"                    \
          "  ldp x29, x30, [sp], #224\n"                                                                    \
          "  br x16\n"                                                                                       \
          ".size longctx_lazy_" #group "_slow, .-longctx_lazy_" #group "_slow\n");

#else
// Elsewhere (macOS, other architectures) there are no trampolines, and the C modules' headers-only pkg-config
// files leave the libraries unlinked: such a platform needs its own trampolines (or plain pkg-config names).
#define LONGCTX_LAZY_TRAMPOLINE(group, index, symbol)
#define LONGCTX_LAZY_SLOW_PATH(group)
#endif

/// Defines the group `group` (its descriptor, address table and load function) over `SYMBOLS`/`SONAMES`.
#define LONGCTX_LAZY_GROUP(group, display, count_)                                                           \
  __attribute__((visibility("hidden"))) void *longctx_lazy_##group##_table[count_];                         \
  __attribute__((visibility("hidden"))) struct longctx_lazy_group longctx_lazy_##group = {                  \
    display, group##_sonames, group##_symbols, longctx_lazy_##group##_table, count_,                         \
    PTHREAD_MUTEX_INITIALIZER, 0, {0}, {0}};                                                                 \
  int longctx_lazy_load_##group(const char **error) { return longctx_lazy_open(&longctx_lazy_##group, error); } \
  LONGCTX_LAZY_SLOW_PATH(group)

#endif
