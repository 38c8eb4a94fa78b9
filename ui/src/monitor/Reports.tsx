// The test and coverage reports of the selected action: counts, failed tests with their
// messages, and the files with the least coverage.
import type { ActionReport } from "../backend";
import { reportSummary } from "./reports";

const LISTED = 10;

export function Reports({ reports }: { reports: ActionReport[] }) {
  return (
    <div className="reports" aria-label="Reports">
      {reports.map(({ report }) => {
        const failed = report.testCases.filter((t) => t.status === "FAILED" || t.status === "ERROR");
        const files = [...report.codeCoverages]
          .sort(
            (a, b) =>
              a.linesCovered / Math.max(1, a.linesCovered + a.linesMissed) -
              b.linesCovered / Math.max(1, b.linesCovered + b.linesMissed),
          )
          .slice(0, 5);
        return (
          <div key={report.name} className="report" data-report={report.name} data-report-status={report.status}>
            <div className="report-head">
              <strong>{report.name}</strong>
              <span className="muted">{report.fileFormat}</span>
              <span className={`badge tone-${report.status === "SUCCEEDED" ? "ok" : report.status === "FAILED" ? "bad" : "waiting"}`}>
                {report.status}
              </span>
              <span>{reportSummary(report)}</span>
            </div>
            {failed.length > 0 && (
              <ul className="plain failed-tests">
                {failed.slice(0, LISTED).map((t, i) => (
                  <li key={i}>
                    <span className="error-text">✘ {t.prefix ? `${t.prefix} ` : ""}{t.name}</span>
                    {t.message && <span className="muted selectable">: {t.message.split("\n")[0]}</span>}
                  </li>
                ))}
                {failed.length > LISTED && <li className="muted">and {failed.length - LISTED} more</li>}
              </ul>
            )}
            {files.length > 0 && (
              <ul className="plain">
                {files.map((f) => (
                  <li key={f.filePath} className="muted">
                    {((100 * f.linesCovered) / Math.max(1, f.linesCovered + f.linesMissed)).toFixed(1)}% {f.filePath}
                  </li>
                ))}
              </ul>
            )}
            {report.unreadable.map((why) => (
              <p key={why} className="notice warning">
                Not read: {why}
              </p>
            ))}
          </div>
        );
      })}
    </div>
  );
}
