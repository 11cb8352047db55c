// See CToneCurves.h.
#include "CToneCurves.h"

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

// lcms2_plugin.h's parametric-curve plug-in (stable since lcms 2.0); the header is not installed here.
struct lcms_plugin_base {
  uint32_t magic;
  uint32_t expected_version;
  uint32_t type;
  struct lcms_plugin_base *next;
};
typedef double (*lcms_curve_evaluator)(int32_t type, const double params[10], double r);
#define LCMS_MAX_TYPES 20
struct lcms_plugin_curves {
  struct lcms_plugin_base base;
  uint32_t count;
  uint32_t types[LCMS_MAX_TYPES];
  uint32_t parameter_counts[LCMS_MAX_TYPES];
  lcms_curve_evaluator evaluator;
};
#define LCMS_PLUGIN_MAGIC 0x61637070u  // 'acpp'
#define LCMS_PLUGIN_CURVES 0x70617248u  // 'parH'
#define LCMS_DET_TOLERANCE 0.0001       // lcms2's MATRIX_DET_TOLERANCE

// lcms2's own formulas (cmsgamma.c, DefaultEvalParametricFn) for IEC 61966-2.1 (sRGB):
// Y = (aX + b)^g for X >= d, Y = cX below; params g, a, b, c, d.
static double formula(int type, const double p[10], double r) {
  if (type == 4) {
    if (r >= p[4]) {
      double e = p[1] * r + p[2];
      return e > 0 ? pow(e, p[0]) : 0;
    }
    return r * p[3];
  }
  // -4, the inverse: X = (Y^(1/g) - b) / a for Y >= (ad + b)^g, X = Y / c below (lcms2 2.14's order of checks:
  // 2.15 answers 0 everywhere when g, a or c is 0).
  double e = p[1] * p[4] + p[2];
  double disc = e < 0 ? 0 : pow(e, p[0]);
  if (r >= disc) {
    return fabs(p[0]) < LCMS_DET_TOLERANCE || fabs(p[1]) < LCMS_DET_TOLERANCE ? 0 : (pow(r, 1.0 / p[0]) - p[2]) / p[1];
  }
  return fabs(p[3]) < LCMS_DET_TOLERANCE ? 0 : r / p[3];
}

// lcms2 samples a parametric curve at i / 4095, i = 0…4095 (cmsBuildSegmentedToneCurve).
#define SAMPLES 4096

// The samples of the last few curves, per thread (lcms2 may build transforms on several threads). A transform
// build samples several curves in turn (the display's sRGB and its inverse, the page profile's own curves, those of
// the black point detection's Lab transforms), so one curve's table would be replaced at every turn.
#define SLOTS 8
struct slot {
  int type;
  double params[5];
  double values[SAMPLES];
  uint8_t known[SAMPLES];
};
static _Thread_local struct {
  struct slot slots[SLOTS];
  struct slot *current;
  unsigned used;
  unsigned next;
  unsigned long hits;
} cache;

static struct slot *slot_for(int type, const double params[10]) {
  // lcms2 asks for a curve's 4096 samples in a row: the slot of the last call first.
  struct slot *current = cache.current;
  if (current != NULL && current->type == type && memcmp(current->params, params, sizeof current->params) == 0) {
    return current;
  }
  for (unsigned s = 0; s < cache.used; s++) {
    struct slot *slot = &cache.slots[s];
    if (slot->type == type && memcmp(slot->params, params, sizeof slot->params) == 0) return cache.current = slot;
  }
  // A new curve takes a free slot, or the oldest one's.
  struct slot *slot = &cache.slots[cache.next];
  cache.next = (cache.next + 1) % SLOTS;
  if (cache.used < SLOTS) cache.used++;
  slot->type = type;
  memcpy(slot->params, params, sizeof slot->params);
  memset(slot->known, 0, sizeof slot->known);
  return cache.current = slot;
}

static double evaluate(int32_t type, const double params[10], double r) {
  if (type != 4 && type != -4) return 0;  // only these are registered
  double scaled = r * (SAMPLES - 1);
  if (!(scaled >= 0 && scaled <= SAMPLES - 1)) return formula(type, params, r);
  int i = (int)(scaled + 0.5);
  if ((double)i / (SAMPLES - 1) != r) return formula(type, params, r);
  struct slot *slot = slot_for(type, params);
  if (slot->known[i]) {
    cache.hits++;
    return slot->values[i];
  }
  double value = formula(type, params, r);
  slot->values[i] = value;
  slot->known[i] = 1;
  return value;
}

static struct lcms_plugin_curves plugin = {
  .base = {.magic = LCMS_PLUGIN_MAGIC, .expected_version = 2080, .type = LCMS_PLUGIN_CURVES, .next = NULL},
  .count = 1,
  .types = {4},
  .parameter_counts = {5},
  .evaluator = evaluate,
};

static int installed = 0;

static void install(void) {
  // lcms2 came with libpoppler (RTLD_LOCAL): ask for its handle without loading anything.
  void *lcms = dlopen("liblcms2.so.2", RTLD_LAZY | RTLD_NOLOAD);
  if (lcms == NULL) return;
  int (*version)(void) = (int (*)(void))dlsym(lcms, "cmsGetEncodedCMMversion");
  int (*register_plugin)(void *) = (int (*)(void *))dlsym(lcms, "cmsPlugin");
  // The formulas above are lcms2 2.14's (Debian 12), checked against it by CToneCurvesTests; another version
  // keeps its own evaluator.
  if (version != NULL && register_plugin != NULL && version() >= 2140 && version() < 2150) {
    installed = register_plugin(&plugin) ? 1 : 0;
  }
  dlclose(lcms);
}

int longctx_tone_curves_install(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, install);
  return installed;
}

double longctx_tone_curves_eval(int type, const double params[10], double r) { return evaluate(type, params, r); }

unsigned long longctx_tone_curves_hits(void) { return cache.hits; }
