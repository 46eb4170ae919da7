namespace Qianbao.Ledger;

/// <summary>
/// Always-on assertions for things that must never happen. Unlike <c>Debug.Assert</c> these stay in
/// release builds: a broken ledger invariant must stop the operation, never be swallowed.
/// </summary>
public static class Invariant
{
    /// <summary>Throws <see cref="InvariantViolationException"/> when <paramref name="condition"/> is false.</summary>
    public static void That(bool condition, string message)
    {
        if (!condition) throw new InvariantViolationException(message);
    }
}

/// <summary>A ledger invariant was broken: a bug, never an expected outcome.</summary>
public sealed class InvariantViolationException(string message) : Exception(message);
