#include <poppler.h>
#include <glib.h>
#include <glib-object.h>
#include <cairo-pdf.h>
