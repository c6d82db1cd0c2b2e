// Rules every repository backend applies to annotations (SQLite and PostgreSQL share them).
#pragma once

#include "skintrack/annotation/annotation.h"

namespace skintrack::storage {

// The audit action of a version, named by the state it leads to: "annotation.save",
// "annotation.submit" or "annotation.review".
const char* AnnotationAuditAction(annotation::AnnotationState state) noexcept;
// The page size of annotation lists: 1..10000, else Error(kInvalidArgument) naming `what`.
void CheckListLimit(int limit, const char* what);

}  // namespace skintrack::storage
