using Qianbao.Server.Money;

namespace Qianbao.Server.Modules.Points;

/// <summary>A person's points balance as other modules ask for it (a messaging campaign's <c>{{ points }}</c>): the ledger's PTS account.</summary>
internal sealed class PointsBalances(LedgerAccounts ledger)
{
    public async Task<long> BalanceAsync(Guid userId, CancellationToken ct)
    {
        var account = ChartOfAccounts.UserPoints(userId);
        return (await ledger.GetAsync([account.Id], ct)).TryGetValue(account.Id, out var a) ? a.CreditBalanceAvailable : 0;
    }
}
