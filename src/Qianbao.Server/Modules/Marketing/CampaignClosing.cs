using Dapper;
using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Money.Pipeline;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Marketing;

/// <summary>
/// Closes a campaign (an operator's stop, or its end) and returns what is left of its budget to where it came from,
/// exactly once: the return's transfer id derives from the campaign, and it is committed with the row's change under a
/// guard that the campaign is still open, so a concurrent stop and sweep, or a stop repeated, return nothing twice.
/// </summary>
internal sealed class CampaignClosing(Campaigns campaigns, MoneyPipeline money, LedgerAccounts accounts, Db db, TimeProvider clock)
{
    /// <summary>
    /// Tries a few times: the return is decided on the balance read just before, and a payment spending from the budget
    /// in between makes the ledger refuse it (more than is left); the next try reads the new balance.
    /// </summary>
    private const int TriesMax = 5;

    /// <summary>The campaign after closing it (or as it was, when it was already closed); null when there is none.</summary>
    public async Task<CampaignRow?> CloseAsync(Guid campaignId, CampaignState to, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            var row = await campaigns.FindAsync(campaignId, ct);
            if (row is null || row.State != CampaignState.Open) return row;
            var remaining = await campaigns.BudgetAvailableAsync(row, ct);
            var nowUs = clock.GetUnixMicroseconds();
            if (remaining == 0)
            {
                // Nothing to return, so no money moves: the row alone changes, once.
                await using var connection = await db.OpenAsync(ct);
                await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE campaigns SET state = @state, closed_at_us = @now WHERE id = @id AND state = 0",
                    new { id = campaignId, state = (int)to, now = nowUs }, cancellationToken: ct));
                return await campaigns.FindAsync(campaignId, ct);
            }

            var funder = row.Funding == FundingSource.Platform
                ? ChartOfAccounts.MarketingExpense(row.Currency)
                : ChartOfAccounts.MerchantSettlement(row.funder_merchant_id!.Value, row.Currency);
            await accounts.EnsureAsync(funder, row.funder_merchant_id, ct);
            var back = new Transfer(new TransferId(StableId.From("campaign-return", campaignId.ToString("N"))), row.BudgetAccount, funder.Id, remaining,
                row.Currency, TransferCodes.CampaignReturn, Reference: "campaign:" + campaignId.ToString("N"));
            var change = new CampaignClosed(campaignId, to, remaining, nowUs);
            var outcome = await money.SubmitAsync(new LedgerCommand([back], guard: new CampaignOpenGuard(campaignId), effects: _ => [change]), ct);
            switch (outcome.Kind)
            {
                case MoneyOutcomeKind.Applied:
                case MoneyOutcomeKind.GuardRejected: // closed by someone else meanwhile: read what they did
                    return await campaigns.FindAsync(campaignId, ct);
                case MoneyOutcomeKind.LedgerRejected when attempt + 1 < TriesMax
                    && outcome.Results[0] is TransferResult.ExceedsCredits or TransferResult.ExistsWithDifferentAmount:
                    continue;
                default:
                    throw new InvariantViolationException(
                        $"returning campaign {campaignId}'s remainder failed with {outcome.Kind} {string.Join(",", outcome.Results)} {outcome.Refusal}");
            }
        }
    }
}

/// <summary>
/// <c>POST /admin/v1/campaigns/{id}/stop</c> (finance) → 200 the campaign, <c>status:"stopped"</c>, its remainder back
/// with the funder. Stopping a stopped or ended campaign answers it as it is and moves nothing.
/// </summary>
internal static class StopCampaign
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/admin/v1/campaigns/{id}/stop", HandleAsync).RequireOperator(OperatorRole.Finance).WithTags("Operator");

    private static async Task<IResult> HandleAsync(string id, CampaignClosing closing, Campaigns campaigns, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var campaignId)) return ApiProblem.NotFound();
        var row = await closing.CloseAsync(campaignId, CampaignState.Stopped, ct);
        return row is null ? ApiProblem.NotFound() : Results.Json(await campaigns.BodyAsync(row, ct), JsonDefaults.Options);
    }
}

/// <summary>
/// Ends campaigns whose end has passed, in bounded batches every few seconds, returning each remainder (see
/// <see cref="CampaignClosing"/>). Any number of processes may run it: the close is exactly once whoever gets there.
/// </summary>
internal sealed class CampaignEndSweeper(Campaigns campaigns, CampaignClosing closing, TimeProvider clock, ILogger<CampaignEndSweeper> logger)
    : PeriodicSweep(clock, logger)
{
    public const int IntervalMs = 1_000;
    public const int BatchMax = 100;

    /// <summary>Ends one batch of due campaigns; returns how many it looked at.</summary>
    public async Task<int> SweepOnceAsync(CancellationToken ct)
    {
        var due = await campaigns.DueToEndAsync(BatchMax, ct);
        foreach (var id in due) await closing.CloseAsync(id, CampaignState.Ended, ct);
        return due.Count;
    }

    protected override TimeSpan Interval => TimeSpan.FromMilliseconds(IntervalMs);

    protected override string Activity => "Ending campaigns";

    // A full batch means more may be due: go on at once rather than wait an interval per hundred.
    protected override async Task<SweepPass> PassAsync(CancellationToken ct) =>
        await SweepOnceAsync(ct) == BatchMax ? SweepPass.MoreDue : SweepPass.Done;
}
