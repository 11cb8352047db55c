#include <poppler.h>
#include <glib.h>
#include <glib-object.h>
