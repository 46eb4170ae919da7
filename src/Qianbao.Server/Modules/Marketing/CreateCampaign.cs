using System.Text.Json;
using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Merchants;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Money;

namespace Qianbao.Server.Modules.Marketing;

/// <summary>
/// <c>POST /admin/v1/campaigns</c> (finance; Idempotency-Key) <c>{name, kind, funding:{source, merchant_id?},
/// budget:{amount, currency}, starts_at?, ends_at, merchant_ids?, &lt;kind&gt;:{...}}</c> → 201 the campaign. One ledger
/// command moves the budget into the campaign's own budget account — from the platform's marketing expense account
/// (no limit) or from the funding merchant's settlement account (422 <c>insufficient_funds</c> when it is short, and
/// then nothing moves and no campaign exists) — with the campaign row committed as its effect. Finance decides money
/// leaving the platform or a merchant's balance, so only finance (and the owner) creates and stops campaigns.
/// </summary>
internal static class CreateCampaign
{
    public sealed record FundingInput(string? Source, string? MerchantId);

    public sealed record BudgetInput(JsonElement? Amount, string? Currency);

    public sealed record Request(string? Name, string? Kind, FundingInput? Funding, BudgetInput? Budget, string? StartsAt, string? EndsAt,
        string[]? MerchantIds, CampaignTermsInput.Coupon? Coupon, CampaignTermsInput.FirstPayment? FirstPayment, CampaignTermsInput.Cashback? Cashback,
        CampaignTermsInput.Points? Points);

    public const int NameLengthMax = 64;

    /// <summary>Most merchants one campaign names (more is a campaign for every merchant).</summary>
    public const int MerchantIdsMax = 100;

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/admin/v1/campaigns", HandleAsync).RequireOperator(OperatorRole.Finance).WithTags("Operator");

    private static async Task<IResult> HandleAsync(HttpContext http, Idempotency idempotency, MoneyMovement money, LedgerAccounts accounts,
        MerchantDirectory merchants, TimeProvider clock, CancellationToken ct)
    {
        var (request, bytes, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        var now = clock.GetUtcNow();
        var (input, invalid) = await ValidateAsync(request!, now, merchants, ct);
        if (invalid is not null) return invalid;

        var (idem, done) = await idempotency.BeginAsync(http, "campaign", bytes!, ct);
        if (done is not null) return done;

        var v = input!.Value;
        var campaignId = StableId.From("campaign", idem!.Name);
        var budget = ChartOfAccounts.CampaignBudget(campaignId, v.Currency);
        var source = v.Funding == FundingSource.Platform
            ? ChartOfAccounts.MarketingExpense(v.Currency)
            : ChartOfAccounts.MerchantSettlement(v.FunderMerchantId!.Value, v.Currency);
        await accounts.EnsureAsync(budget, null, ct);
        // A merchant's settlement account is created by its first payment; one that has none is simply short (the
        // ledger answers DebitAccountNotFound → insufficient_funds), so only the platform's account is ensured here.
        if (v.Funding == FundingSource.Platform) await accounts.EnsureAsync(source, null, ct);

        var funding = new Transfer(new TransferId(StableId.From("campaign-funding", idem.Name)), source.Id, budget.Id, v.Amount, v.Currency,
            TransferCodes.CampaignFunding, Reference: "campaign:" + campaignId.ToString("N"));
        var nowUs = now.ToUnixMicroseconds();
        var row = new CampaignRow
        {
            id = campaignId, name = v.Name, kind = (short)v.Kind, funding_source = (short)v.Funding, funder_merchant_id = v.FunderMerchantId,
            currency = v.Currency.Code, budget_amount = v.Amount, budget_account_id = budget.Id.Value, starts_at_us = v.Start.ToUnixMicroseconds(),
            ends_at_us = v.End.ToUnixMicroseconds(), merchant_ids = MerchantScope.Format(v.MerchantIds),
            terms = JsonSerializer.Serialize(v.Terms, JsonDefaults.Options), state = (short)CampaignState.Open,
            coupon_stock = v.Terms.Coupon?.Stock ?? 0, coupon_per_user_max = v.Terms.Coupon?.PerUserMax ?? 0,
            created_by = http.Operator().OperatorId, created_at_us = nowUs,
        };
        // Nothing is spent or returned yet: the whole budget is available.
        return await money.ExecuteAsync(idem, [funding], () => (StatusCodes.Status201Created, row.Body(nowUs, v.Amount, 0)), ct,
            effects: [new CampaignCreated(row)]);
    }

    private readonly record struct Valid(string Name, CampaignKind Kind, FundingSource Funding, Guid? FunderMerchantId, long Amount, Currency Currency,
        DateTimeOffset Start, DateTimeOffset End, IReadOnlyList<Guid> MerchantIds, CampaignTerms Terms);

    private static async Task<(Valid? Value, IResult? Problem)> ValidateAsync(Request r, DateTimeOffset now, MerchantDirectory merchants, CancellationToken ct)
    {
        var name = r.Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > NameLengthMax || name.Any(char.IsControl))
            return (null, ApiProblem.BadRequest(ErrorCodes.InvalidCampaignName, $"name must be 1-{NameLengthMax} printable characters."));
        if (!CampaignNames.TryParseKind(r.Kind, out var kind))
            return (null, ApiProblem.BadRequest(ErrorCodes.InvalidKind, "kind must be coupon, first_payment, cashback or points."));

        FundingSource funding;
        Guid? funder = null;
        switch (r.Funding?.Source)
        {
            case "platform" when r.Funding.MerchantId is null:
                funding = FundingSource.Platform;
                break;
            case "merchant" when Guid.TryParse(r.Funding.MerchantId, out var m):
                if (!await merchants.ExistsAsync(m, ct))
                    return (null, ApiProblem.BadRequest(ErrorCodes.InvalidFunding, "funding.merchant_id names no merchant."));
                funding = FundingSource.Merchant;
                funder = m;
                break;
            default:
                return (null, ApiProblem.BadRequest(ErrorCodes.InvalidFunding,
                    """funding must be {"source":"platform"} or {"source":"merchant","merchant_id":"<id>"}."""));
        }

        if (r.Budget is null) return (null, ApiProblem.BadRequest(ErrorCodes.InvalidAmount, "budget:{amount, currency} is required."));
        if (AmountInput.TryParse(r.Budget.Amount, r.Budget.Currency, out var amount, out var currency) is { } badAmount) return (null, badAmount);

        // A start in the past (or none) starts it now; the end must come after the start.
        var start = now;
        if (r.StartsAt is not null)
        {
            if (!CampaignTermsInput.TryParseTime(r.StartsAt, out var s))
                return (null, ApiProblem.BadRequest(ErrorCodes.InvalidCampaignWindow, "starts_at must be an RFC 3339 time with an offset."));
            if (s > now) start = s;
        }
        if (!CampaignTermsInput.TryParseTime(r.EndsAt, out var end) || end <= start)
            return (null, ApiProblem.BadRequest(ErrorCodes.InvalidCampaignWindow, "ends_at must be an RFC 3339 time with an offset, after the start (and after now)."));

        var scope = new List<Guid>();
        foreach (var text in r.MerchantIds ?? [])
        {
            if (!Guid.TryParse(text, out var id) || scope.Contains(id) || scope.Count == MerchantIdsMax)
                return (null, ApiProblem.BadRequest(ErrorCodes.InvalidMerchantIds, $"merchant_ids must be up to {MerchantIdsMax} distinct merchant ids."));
            scope.Add(id);
        }
        // A merchant funds discounts at its own counter only: its campaign applies there, whatever else was asked.
        if (funder is { } f)
        {
            if (scope.Count > 1 || (scope.Count == 1 && scope[0] != f))
                return (null, ApiProblem.BadRequest(ErrorCodes.InvalidMerchantIds, "a merchant-funded campaign applies only at the funding merchant."));
            scope = [f];
        }
        foreach (var id in scope)
            if (!await merchants.ExistsAsync(id, ct))
                return (null, ApiProblem.BadRequest(ErrorCodes.InvalidMerchantIds, $"merchant_ids names no merchant {id}."));

        // Exactly the kind's own object; another kind's fields next to it are a mistake, not something to ignore.
        var given = (r.Coupon is not null ? 1 : 0) + (r.FirstPayment is not null ? 1 : 0) + (r.Cashback is not null ? 1 : 0) + (r.Points is not null ? 1 : 0);
        var own = kind switch
        {
            CampaignKind.Coupon => r.Coupon is not null,
            CampaignKind.FirstPayment => r.FirstPayment is not null,
            CampaignKind.Cashback => r.Cashback is not null,
            _ => r.Points is not null,
        };
        if (!own || given != 1)
            return (null, ApiProblem.BadRequest(ErrorCodes.InvalidKindFields, $"give the {CampaignNames.Of(kind)} object and no other kind's."));

        CampaignTerms terms;
        switch (kind)
        {
            case CampaignKind.Coupon:
                if (CampaignTermsInput.TryCoupon(r.Coupon!, amount, start, out var coupon) is { } badCoupon) return (null, badCoupon);
                terms = new CampaignTerms(Coupon: coupon);
                break;
            case CampaignKind.FirstPayment:
                if (CampaignTermsInput.TryFirstPayment(r.FirstPayment!, amount, out var first) is { } badFirst) return (null, badFirst);
                terms = new CampaignTerms(FirstPayment: first);
                break;
            case CampaignKind.Cashback:
                if (CampaignTermsInput.TryCashback(r.Cashback!, amount, out var cashback) is { } badCashback) return (null, badCashback);
                terms = new CampaignTerms(Cashback: cashback);
                break;
            default:
                if (CampaignTermsInput.TryPoints(r.Points!, out var points) is { } badPoints) return (null, badPoints);
                terms = new CampaignTerms(Points: points);
                break;
        }
        return (new Valid(name, kind, funding, funder, amount, currency, start, end, scope, terms), null);
    }
}
