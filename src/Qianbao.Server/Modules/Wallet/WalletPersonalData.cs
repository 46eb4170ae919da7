using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Channels;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Identity.DataRights;
using Qianbao.Server.Money;

namespace Qianbao.Server.Modules.Wallet;

/// <summary>
/// The wallet's part of the export: every ledger entry on the person's wallets, oldest first, as <c>GET /v1/transactions</c>
/// shows them (counterparties masked). Nothing is erased: ledger entries are kept intact (they name only account and owner
/// ids, and the record-keeping rules require them); closing the account erases what makes the id a person.
/// </summary>
internal sealed class WalletPersonalData(LedgerHistory history, UserDirectory users) : IPersonalDataSource
{
    public async Task<IReadOnlyDictionary<string, object?>> ExportAsync(DataSubject subject, CancellationToken ct)
    {
        var userId = subject.UserId;
        var entries = new List<LedgerEntry>();
        for (var before = long.MaxValue; ;)
        {
            var page = await history.PageAsync(new HistoryQuery(userId, AccountCodes.UserWallet, before, 0, 0, long.MaxValue, LedgerHistory.TakeMax), ct);
            entries.AddRange(page);
            if (page.Count < LedgerHistory.TakeMax) break;
            before = page[^1].Seq;
        }
        entries.Reverse();
        var names = new Dictionary<Guid, string>();
        foreach (var chunk in entries.Select(e => e.DebitOwnerId == userId ? e.CreditOwnerId : e.DebitOwnerId).OfType<Guid>().Distinct().Chunk(1000))
            foreach (var (id, name) in await users.MaskedNamesAsync(chunk, ct)) names[id] = name;
        return new Dictionary<string, object?>
        {
            ["transactions"] = entries.Select(e =>
            {
                var outgoing = e.DebitOwnerId == userId;
                var counterparty = outgoing ? e.CreditOwnerId : e.DebitOwnerId;
                return new
                {
                    id = e.Id, type = TransferCodes.Name(e.Code), direction = outgoing ? "debit" : "credit", amount = e.Amount, currency = e.Currency.Code,
                    status = e.Flags.HasFlag(Qianbao.Ledger.TransferFlags.Pending) ? HoldStatus.Name(e.State) : "completed",
                    counterparty = counterparty is { } c && names.TryGetValue(c, out var n) ? new { user_id = c, name_masked = n } : null,
                    note = e.Reference, created_at = TimeProviderExtensions.FromUnixMicroseconds(e.TimestampUs),
                };
            }).ToList(),
        };
    }

    public Task EraseAsync(DataSubject subject, CancellationToken ct) => Task.CompletedTask;
}
