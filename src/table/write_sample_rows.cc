// write_sample_rows OUTPUT [ROWS_PER_FILE]: writes the rows tests/test_table_parquet.py expects,
// so that the Python side can check what the C++ writer produces.
//   row i < 4: path "/data/<label>/img <i>.jpg", features[j] = i / 2 + j / 1024 (exact floats);
//   row 4:     an error row with null features.
#include <cstdlib>
#include <iostream>

#include "pomona/error.h"
#include "pomona/table.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: write_sample_rows OUTPUT [ROWS_PER_FILE]\n";
    return 2;
  }
  pomona::WriterOptions options;
  options.metadata["pomona.model"] = "sample";
  if (argc == 3) options.rows_per_file = std::atoll(argv[2]);
  const char* labels[] = {"Apple Braeburn", "\xC3\x84pfel", "Banana Lady Finger", "Cucumber Ripe"};
  try {
    auto writer = pomona::RowWriter::open(argv[1], options);
    for (int i = 0; i < 4; ++i) {
      pomona::FeatureRow row;
      row.label = labels[i];
      row.path = "/data/" + row.label + "/img " + std::to_string(i) + ".jpg";
      for (int j = 0; j < options.feature_dim; ++j) row.features.push_back(i / 2.0f + j / 1024.0f);
      writer->append(std::move(row));
    }
    pomona::FeatureRow broken;
    broken.label = "Cucumber Ripe";
    broken.path = "/data/Cucumber Ripe/broken.jpg";
    broken.error = "cannot decode " + broken.path + ": not a JPEG";
    writer->append(std::move(broken));
    for (const std::string& file : writer->commit()) std::cout << file << "\n";
  } catch (const pomona::JobError& error) {
    std::cerr << error.what() << "\n";
    return static_cast<int>(error.code());
  }
  return 0;
}
