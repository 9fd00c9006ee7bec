// --info files of `pomona index`: per-label information joined on the label.
#pragma once

#include <map>
#include <string>

namespace pomona {

// Reads a .csv (header row; Arrow's CSV reader infers the types) or .parquet file with a column
// `label` and any others, local or s3://. Returns label -> a JSON object of the row's other
// columns (strings quoted, numbers and booleans as they are, nulls and NaN as null). Throws
// JobError(kInputOutput) naming the file when it cannot be read, has no `label` column, a null
// or repeated label.
std::map<std::string, std::string> read_label_info(const std::string& path);

}  // namespace pomona
