// lcms2's sRGB tone curves, evaluated once per process instead of once per page (issue 32).
//
// poppler-glib makes a new text device for every page, and with it poppler builds the colour transforms of every
// ICC-based colour space the page uses again: each build samples the display's sRGB curves and their inverses at
// 4096 points through pow(), which was 30 % of the instructions of a text PDF's extraction (valgrind's manual).
// pdftotext keeps one device for the document and pays this once.
#ifndef LONGCTX_C_TONE_CURVES_H
#define LONGCTX_C_TONE_CURVES_H

/// Registers with lcms2 (already loaded, as libpoppler's dependency) an evaluator of its sRGB-type parametric
/// curves (type 4 and its inverse) that gives the values lcms2's own evaluator gives and remembers, per thread,
/// those at the 4096 sample points of the last curve. Once per process; returns 1 when registered, 0 when lcms2
/// is not loaded or refused the plug-in (nothing changes then).
int longctx_tone_curves_install(void);

/// lcms2's sRGB curve (type 4, or its inverse with `type` -4) with parameters `params` (5 values) at `r`, through the
/// installed evaluator: tests compare it with the formula.
double longctx_tone_curves_eval(int type, const double params[10], double r);

/// Values the evaluator took from its table since the process started (on this thread).
unsigned long longctx_tone_curves_hits(void);

#endif
