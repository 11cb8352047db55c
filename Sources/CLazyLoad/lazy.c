// The loader behind the trampolines: dlopen a group once, dlsym each symbol once.
#include "lazy.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int longctx_lazy_trampolines(void) { return LONGCTX_LAZY; }

int longctx_lazy_open(struct longctx_lazy_group *group, const char **error) {
#if LONGCTX_LAZY
  int state = __atomic_load_n(&group->state, __ATOMIC_ACQUIRE);
  if (state == 0) {
    pthread_mutex_lock(&group->lock);
    state = group->state;
    if (state == 0) {
      state = 1;
      for (unsigned i = 0; group->sonames[i] != NULL && i < LONGCTX_LAZY_MAX_SONAMES; i++) {
        // RTLD_LOCAL: the library's symbols do not join the global scope, so nothing else resolves to them by
        // accident; the trampolines ask the handles.
        void *handle = dlopen(group->sonames[i], RTLD_LAZY | RTLD_LOCAL);
        if (handle == NULL) {
          const char *reason = dlerror();
          snprintf(group->error, sizeof group->error, "%s", reason != NULL ? reason : group->sonames[i]);
          state = -1;
          break;
        }
        group->handles[i] = handle;
      }
      __atomic_store_n(&group->state, state, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&group->lock);
  }
  if (state < 0) {
    if (error != NULL) *error = group->error;
    return 0;
  }
#else
  (void)group;
  (void)error;
#endif
  return 1;
}

void *longctx_lazy_resolve(struct longctx_lazy_group *group, unsigned index) {
  const char *error = NULL;
  const char *symbol = index < group->count ? group->symbols[index] : "?";
  if (!longctx_lazy_open(group, &error)) {
    fprintf(stderr, "longctx: %s is not installed, so %s cannot be called: %s\n", group->name, symbol, error);
    abort();
  }
  void *address = NULL;
  for (unsigned i = 0; i < LONGCTX_LAZY_MAX_SONAMES && group->handles[i] != NULL && address == NULL; i++) {
    address = dlsym(group->handles[i], symbol);
  }
  if (address == NULL) {
    fprintf(stderr, "longctx: %s has no function %s (%s)\n", group->name, symbol, group->sonames[0]);
    abort();
  }
  __atomic_store_n(&group->table[index], address, __ATOMIC_RELEASE);
  return address;
}
