#include <archive.h>
#include <archive_entry.h>

// The file-type macros are casts (`((__LA_MODE_T)0100000)`), which Swift does not import.
static const unsigned int cArchiveTypeRegular = AE_IFREG;
static const unsigned int cArchiveTypeDirectory = AE_IFDIR;
static const unsigned int cArchiveTypeSymlink = AE_IFLNK;
// A shifted macro, imported as a plain constant.
static const int cArchiveCapsEncryptData = ARCHIVE_READ_FORMAT_CAPS_ENCRYPT_DATA;
