using System.Diagnostics;
using System.Text;

namespace Qianbao.Bench;

/// <summary>
/// Where the database time goes: listens to Npgsql's <see cref="ActivitySource"/> ("Npgsql") and adds up,
/// per statement (or batch of statements), how many round trips there were and how long they took from
/// send to last row. Only for profiling runs: listening costs a little per statement. COMMIT is not
/// traced by Npgsql, so batch time not covered here is commit (WAL flush) plus client-side work.
/// </summary>
public sealed class StatementProfile : IDisposable
{
    private readonly ActivityListener listener;
    private readonly Dictionary<string, (long Count, TimeSpan Total)> totals = new(StringComparer.Ordinal);
    private readonly Lock gate = new();

    public StatementProfile()
    {
        listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = OnStopped,
        };
        ActivitySource.AddActivityListener(listener);
    }

    public sealed record Line(string Statement, long Count, double TotalMs, double MeanMs);

    /// <summary>Statements by total time, longest first.</summary>
    public IReadOnlyList<Line> Lines()
    {
        lock (gate)
        {
            return [.. totals.OrderByDescending(kv => kv.Value.Total)
                .Select(kv => new Line(kv.Key, kv.Value.Count, kv.Value.Total.TotalMilliseconds, kv.Value.Total.TotalMilliseconds / kv.Value.Count))];
        }
    }

    public void Reset()
    {
        lock (gate) totals.Clear();
    }

    private void OnStopped(Activity activity)
    {
        var text = activity.GetTagItem("db.query.text") as string ?? activity.GetTagItem("db.statement") as string ?? activity.DisplayName;
        var key = Shorten(text);
        lock (gate)
        {
            totals[key] = totals.TryGetValue(key, out var t) ? (t.Count + 1, t.Total + activity.Duration) : (1, activity.Duration);
        }
    }

    /// <summary>First words of each statement, whitespace folded, so that one batch shape is one line.</summary>
    private static string Shorten(string text)
    {
        var sb = new StringBuilder();
        foreach (var statement in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var words = statement.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (sb.Length > 0) sb.Append(" ; ");
            sb.Append(string.Join(' ', words.Take(6)));
        }
        return sb.Length == 0 ? "(empty)" : sb.ToString();
    }

    public void Dispose() => listener.Dispose();
}
