// kforge report and the dashboard for a suite (search/suite.h): the suite's summary as tables
// of plain text (each renderer escapes for its format), and as one self-contained HTML page
// (inline CSS, no script, nothing fetched) linking each problem's own report.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "web/report_page.h"

namespace kf::web {

TextTable SuiteProblemsTable(const nlohmann::json& summary);  // a row per problem
TextTable SuiteFastTable(const nlohmann::json& summary);      // fast_p and geomeans per baseline
TextTable SuiteModelsTable(const nlohmann::json& summary);    // per model: within k, cost

// The page; `run_reports`: link each problem to NAME/report.html.
std::string SuiteReportHtml(const nlohmann::json& summary, bool run_reports);

}  // namespace kf::web
