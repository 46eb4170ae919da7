using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Identity.DataRights;
using Qianbao.Server.Money;

namespace Qianbao.Server.Modules.Points;

/// <summary>
/// The points part of the export: the balance, the shortfall and every earning, clawback and expiry, oldest first. Nothing is
/// erased: like ledger entries, the points rows name only the user's id and trade numbers, and they explain ledger transfers
/// that are kept.
/// </summary>
internal sealed class PointsPersonalData(LedgerAccounts ledger, PointsStore store) : IPersonalDataSource
{
    public async Task<IReadOnlyDictionary<string, object?>> ExportAsync(DataSubject subject, CancellationToken ct)
    {
        var account = ChartOfAccounts.UserPoints(subject.UserId);
        var balance = (await ledger.GetAsync([account.Id], ct)).TryGetValue(account.Id, out var a) ? a.CreditBalanceAvailable : 0;
        var items = (await store.AllItemsAsync(subject.UserId, ct)).Select(i => new
        {
            i.id, type = PointsItemNames.Of((PointsItemKind)i.kind), i.amount, i.withheld, i.shortfall, i.trade_no,
            at = TimeProviderExtensions.FromUnixMicroseconds(i.at_us),
        });
        return new Dictionary<string, object?>
        {
            ["points"] = new { balance, shortfall = await store.ShortfallAsync(subject.UserId, ct), items },
        };
    }

    public Task EraseAsync(DataSubject subject, CancellationToken ct) => Task.CompletedTask;
}
