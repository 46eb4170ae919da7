using System.Data.Common;
using System.Text.Json;
using Dapper;
using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Money.Pipeline;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Marketing;

/// <summary>What a merchant asks for when it creates a voucher template (validated by the caller, the gateway).</summary>
/// <param name="ValidDays">Relative validity: days from the send; null with <paramref name="ValidUntil"/> set.</param>
/// <param name="CampaignEnd">When the campaign ends and its remainder returns to the merchant: the last moment a voucher can be used.</param>
internal readonly record struct VoucherTemplateSpec(Guid MerchantId, string OutBizNo, string Name, long AmountFen, long FloorFen, int Quantity,
    DateTimeOffset PublishStart, DateTimeOffset PublishEnd, int? ValidDays, DateTimeOffset? ValidUntil, DateTimeOffset CampaignEnd, string Description);

internal enum VoucherTemplateOutcome : byte
{
    Created,

    /// <summary>The same out_biz_no created it before: the same template again.</summary>
    Replayed,

    /// <summary>The merchant's settlement balance does not hold amount × quantity; nothing moved.</summary>
    InsufficientFunds,

    /// <summary>The out_biz_no created a template with another budget before.</summary>
    OutBizNoReused,
}

internal enum VoucherSendOutcome : byte
{
    Sent,
    Replayed,
    TemplateNotFound,

    /// <summary>Before the publish start or after the publish end (or the campaign stopped or ended).</summary>
    NotActive,
    OutOfStock,
    LimitReached,

    /// <summary>The out_biz_no sent this template to another user before.</summary>
    OutBizNoReused,
}

/// <summary>One row of <c>voucher_templates</c>: a merchant-funded coupon campaign made through the gateway.</summary>
internal sealed class VoucherTemplateRow
{
    public Guid campaign_id { get; init; }
    public Guid merchant_id { get; init; }
    public string out_biz_no { get; init; } = "";
    public long publish_end_at_us { get; init; }
    public string description { get; init; } = "";
    public long created_at_us { get; init; }
}

/// <summary>A voucher (a coupon of a voucher template) as its merchant sees it.</summary>
internal sealed record MerchantVoucher(CouponRow Coupon, CampaignRow Campaign, CouponView View);

/// <summary>The voucher template exists: written with the transfer of its budget (next to <see cref="CampaignCreated"/>).</summary>
internal sealed record VoucherTemplateCreated(VoucherTemplateRow Row) : IEffect;

internal sealed class VoucherTemplateWriter : IEffectWriter
{
    public Type EffectType => typeof(VoucherTemplateCreated);

    public ValueTask WriteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<IEffect> effects, CancellationToken ct) =>
        SqlBatch.ExecuteAsync(connection, transaction, [.. effects.Cast<VoucherTemplateCreated>().Select(e => new SqlStatement("""
            INSERT INTO voucher_templates (campaign_id, merchant_id, out_biz_no, publish_end_at_us, description, created_at_us)
            VALUES (@campaign_id, @merchant_id, @out_biz_no, @publish_end_at_us, @description, @created_at_us)
            ON CONFLICT (campaign_id) DO NOTHING
            """, new Dictionary<string, object?>
        {
            ["campaign_id"] = e.Row.campaign_id, ["merchant_id"] = e.Row.merchant_id, ["out_biz_no"] = e.Row.out_biz_no,
            ["publish_end_at_us"] = e.Row.publish_end_at_us, ["description"] = e.Row.description, ["created_at_us"] = e.Row.created_at_us,
        }))], ct);
}

/// <summary>
/// The small API Marketing offers the gateway for merchant vouchers: a template is a merchant-funded coupon campaign
/// (created exactly like <c>POST /admin/v1/campaigns</c> with merchant funding: one ledger command moves amount × quantity
/// from the merchant's settlement account into the campaign's budget account, the rows committed as its effects), a send
/// is a coupon claim on the user's behalf, and a query reads the coupon. The gateway never touches these tables.
/// </summary>
internal sealed class MerchantVouchers(Db db, MoneyPipeline pipeline, LedgerAccounts accounts, Campaigns campaigns, Coupons coupons, TimeProvider clock)
{
    /// <summary>The template (campaign) id is derived from the merchant and its out_biz_no, so a retry finds the same one.</summary>
    public static Guid TemplateIdFor(Guid merchantId, string outBizNo) => StableId.From("voucher-template", $"{merchantId:N}/{outBizNo}");

    public async Task<(VoucherTemplateOutcome Outcome, Guid TemplateId)> CreateTemplateAsync(VoucherTemplateSpec s, CancellationToken ct)
    {
        var campaignId = TemplateIdFor(s.MerchantId, s.OutBizNo);
        var currency = Currency.Cny;
        var budgetFen = checked(s.AmountFen * s.Quantity);
        if (await campaigns.FindAsync(campaignId, ct) is { } earlier)
            return (earlier.budget_amount == budgetFen ? VoucherTemplateOutcome.Replayed : VoucherTemplateOutcome.OutBizNoReused, campaignId);

        var budget = ChartOfAccounts.CampaignBudget(campaignId, currency);
        await accounts.EnsureAsync(budget, null, ct);
        var funding = new Transfer(new TransferId(StableId.From("campaign-funding", "voucher/" + campaignId.ToString("N"))),
            ChartOfAccounts.MerchantSettlement(s.MerchantId, currency).Id, budget.Id, budgetFen, currency, TransferCodes.CampaignFunding,
            Reference: "campaign:" + campaignId.ToString("N"));
        var now = clock.GetUtcNow();
        var nowUs = now.ToUnixMicroseconds();
        var start = s.PublishStart > now ? s.PublishStart : now;
        var terms = new CampaignTerms(Coupon: new CouponTerms(CouponTypes.Of(s.FloorFen > 0 ? CouponType.Threshold : CouponType.Fixed), s.AmountFen, 0, 0,
            s.FloorFen, s.Quantity, Math.Min(s.Quantity, CampaignTermsInput.PerUserMaxMax), s.ValidDays, s.ValidUntil, ReturnOnRefund: true));
        var row = new CampaignRow
        {
            id = campaignId, name = s.Name, kind = (short)CampaignKind.Coupon, funding_source = (short)FundingSource.Merchant, funder_merchant_id = s.MerchantId,
            currency = currency.Code, budget_amount = budgetFen, budget_account_id = budget.Id.Value, starts_at_us = start.ToUnixMicroseconds(),
            ends_at_us = s.CampaignEnd.ToUnixMicroseconds(), merchant_ids = MerchantScope.Format([s.MerchantId]),
            terms = JsonSerializer.Serialize(terms, JsonDefaults.Options), state = (short)CampaignState.Open, coupon_stock = s.Quantity,
            coupon_per_user_max = Math.Min(s.Quantity, CampaignTermsInput.PerUserMaxMax), created_by = null, created_at_us = nowUs,
        };
        var template = new VoucherTemplateRow
        {
            campaign_id = campaignId, merchant_id = s.MerchantId, out_biz_no = s.OutBizNo, publish_end_at_us = s.PublishEnd.ToUnixMicroseconds(),
            description = s.Description, created_at_us = nowUs,
        };
        var outcome = await pipeline.SubmitAsync(new LedgerCommand([funding], effects: _ => [new CampaignCreated(row), new VoucherTemplateCreated(template)]), ct);
        var result = outcome.Results[0];
        if (result.IsApplied()) return (result == TransferResult.Exists ? VoucherTemplateOutcome.Replayed : VoucherTemplateOutcome.Created, campaignId);
        // A merchant with no settlement account yet (no payment so far) is short like one with too little.
        if (result is TransferResult.ExceedsCredits or TransferResult.DebitAccountNotFound) return (VoucherTemplateOutcome.InsufficientFunds, campaignId);
        if (result.IsExistsMismatch()) return (VoucherTemplateOutcome.OutBizNoReused, campaignId);
        throw new InvariantViolationException($"the voucher template funding was rejected as {result}");
    }

    /// <summary>The template <paramref name="templateId"/> if it is <paramref name="merchantId"/>'s (a merchant acts only on its own).</summary>
    public async Task<(VoucherTemplateRow Template, CampaignRow Campaign)?> FindTemplateAsync(Guid merchantId, Guid templateId, CancellationToken ct)
    {
        VoucherTemplateRow? template;
        await using (var connection = await db.OpenAsync(ct))
        {
            template = await connection.QuerySingleOrDefaultAsync<VoucherTemplateRow>(new CommandDefinition(
                "SELECT campaign_id, merchant_id, out_biz_no, publish_end_at_us, description, created_at_us FROM voucher_templates WHERE campaign_id = @templateId",
                new { templateId }, cancellationToken: ct));
        }
        if (template is null || template.merchant_id != merchantId) return null;
        var campaign = await campaigns.FindAsync(templateId, ct);
        return campaign is null ? null : (template, campaign);
    }

    /// <summary>
    /// The campaigns <paramref name="merchantId"/> funds, newest first (at most <see cref="Campaigns.ListMax"/>), with the voucher
    /// template row of those made as vouchers (the others are operators' campaigns funded from its balance).
    /// </summary>
    public async Task<(IReadOnlyList<CampaignRow> Campaigns, IReadOnlyDictionary<Guid, VoucherTemplateRow> Templates)> ListFundedByAsync(Guid merchantId,
        CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var rows = (await connection.QueryAsync<CampaignRow>(new CommandDefinition($"""
            SELECT {CampaignRow.Columns} FROM campaigns WHERE funder_merchant_id = @merchantId ORDER BY created_at_us DESC, id LIMIT {Campaigns.ListMax}
            """, new { merchantId }, cancellationToken: ct))).AsList();
        var templates = (await connection.QueryAsync<VoucherTemplateRow>(new CommandDefinition(
            "SELECT campaign_id, merchant_id, out_biz_no, publish_end_at_us, description, created_at_us FROM voucher_templates WHERE merchant_id = @merchantId",
            new { merchantId }, cancellationToken: ct))).ToDictionary(t => t.campaign_id);
        return (rows, templates);
    }

    /// <summary>
    /// Gives one voucher of the template to <paramref name="userId"/>. The (template, out_biz_no) row is written first and
    /// names the user for good, so a retry — even a concurrent one — claims with the same key and gets the same coupon,
    /// and the same out_biz_no for another user is refused.
    /// </summary>
    public async Task<(VoucherSendOutcome Outcome, CouponRow? Coupon)> SendAsync(Guid merchantId, Guid templateId, Guid userId, string outBizNo,
        CancellationToken ct)
    {
        if (await FindTemplateAsync(merchantId, templateId, ct) is not { } found) return (VoucherSendOutcome.TemplateNotFound, null);
        var nowUs = clock.GetUnixMicroseconds();
        Guid sentTo;
        await using (var connection = await db.OpenAsync(ct))
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO voucher_sends (campaign_id, out_biz_no, user_id, created_at_us) VALUES (@templateId, @outBizNo, @userId, @nowUs)
                ON CONFLICT (campaign_id, out_biz_no) DO NOTHING
                """, new { templateId, outBizNo, userId, nowUs }, cancellationToken: ct));
            sentTo = await connection.ExecuteScalarAsync<Guid>(new CommandDefinition(
                "SELECT user_id FROM voucher_sends WHERE campaign_id = @templateId AND out_biz_no = @outBizNo", new { templateId, outBizNo }, cancellationToken: ct));
        }
        if (sentTo != userId) return (VoucherSendOutcome.OutBizNoReused, null);
        var key = $"voucher:{templateId:N}:{outBizNo}";
        // After the publish end nothing new is sent; a retry of a send that succeeded still answers its voucher.
        if (nowUs >= found.Template.publish_end_at_us)
        {
            var earlier = await coupons.FindAsync(Coupons.IdFor(userId, key), ct);
            return earlier is null ? (VoucherSendOutcome.NotActive, null) : (VoucherSendOutcome.Replayed, earlier);
        }
        var (outcome, coupon) = await coupons.ClaimAsync(userId, templateId, key, ct);
        return outcome switch
        {
            ClaimOutcome.Claimed => (VoucherSendOutcome.Sent, coupon),
            ClaimOutcome.Replayed => (VoucherSendOutcome.Replayed, coupon),
            ClaimOutcome.NotFound => (VoucherSendOutcome.TemplateNotFound, null),
            ClaimOutcome.NotActive => (VoucherSendOutcome.NotActive, null),
            ClaimOutcome.OutOfStock => (VoucherSendOutcome.OutOfStock, null),
            ClaimOutcome.LimitReached => (VoucherSendOutcome.LimitReached, null),
            // The key holds the template id, so it cannot have claimed another campaign's coupon.
            _ => throw new InvariantViolationException($"a voucher send claimed as {outcome}"),
        };
    }

    /// <summary>The voucher <paramref name="voucherId"/> if it belongs to one of <paramref name="merchantId"/>'s templates.</summary>
    public async Task<MerchantVoucher?> FindVoucherAsync(Guid merchantId, Guid voucherId, CancellationToken ct)
    {
        if (await coupons.FindAsync(voucherId, ct) is not { } coupon) return null;
        if (await FindTemplateAsync(merchantId, coupon.campaign_id, ct) is not { } found) return null;
        return new MerchantVoucher(coupon, found.Campaign, coupon.ViewAt(clock.GetUnixMicroseconds()));
    }
}
