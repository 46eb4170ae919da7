namespace Qianbao.Ledger;

/// <summary>
/// Sums of the four balances over all accounts of one currency. Double entry means
/// <c>DebitsPosted == CreditsPosted</c> and <c>DebitsPending == CreditsPending</c> always.
/// Sums use <see cref="Int128"/> so that many large balances cannot overflow the check itself.
/// </summary>
public readonly record struct LedgerTotals(string Currency, Int128 DebitsPosted, Int128 CreditsPosted, Int128 DebitsPending, Int128 CreditsPending)
{
    public bool IsBalanced => DebitsPosted == CreditsPosted && DebitsPending == CreditsPending;

    public static IReadOnlyList<LedgerTotals> Sum(IEnumerable<Account> accounts) =>
        accounts.GroupBy(a => a.Currency.Code, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new LedgerTotals(g.Key,
                g.Aggregate(Int128.Zero, (s, a) => s + a.DebitsPosted),
                g.Aggregate(Int128.Zero, (s, a) => s + a.CreditsPosted),
                g.Aggregate(Int128.Zero, (s, a) => s + a.DebitsPending),
                g.Aggregate(Int128.Zero, (s, a) => s + a.CreditsPending)))
            .ToList();
}
