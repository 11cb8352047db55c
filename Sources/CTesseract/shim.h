#include <tesseract/capi.h>
#include <allheaders.h>
