using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Qianbao.Server.Tests.Infrastructure;

/// <summary>
/// Keeps the in-process server's warnings and errors (with their exceptions), so a test that sees an odd
/// answer can say what the server logged meanwhile. Bounded: the oldest entries are dropped past <see cref="EntriesMax"/>.
/// </summary>
public sealed class CapturedLogs : ILoggerProvider
{
    public const int EntriesMax = 200;
    private readonly ConcurrentQueue<string> entries = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>The last <paramref name="count"/> entries, oldest first, one per line.</summary>
    public string Recent(int count = 20)
    {
        var all = entries.ToArray();
        return all.Length == 0 ? "(no server warnings or errors)" : string.Join("\n", all.Skip(Math.Max(0, all.Length - count)));
    }

    private void Add(string entry)
    {
        entries.Enqueue(entry);
        while (entries.Count > EntriesMax) entries.TryDequeue(out _);
    }

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            owner.Add($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)}" +
                      (exception is null ? "" : $" | {exception.GetType().Name}: {exception.Message}" +
                          (exception.InnerException is { } inner ? $" <- {inner.GetType().Name}: {inner.Message}" : "")));
        }
    }
}
