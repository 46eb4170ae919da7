using System.Collections.Concurrent;
using System.Globalization;
using Qianbao.Ledger;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity.Tiers;
using Qianbao.Server.Money;

namespace Qianbao.Server.Modules.Identity.Limits;

/// <summary>The periods a spending cap is counted over.</summary>
internal enum LimitPeriod : byte
{
    /// <summary>One calendar day, China time.</summary>
    Daily,

    /// <summary>Since the account was opened: class I's cap.</summary>
    Total,

    /// <summary>One calendar year, China time: class II's and III's cap (and counted for class I too, so an upgrade sees the year's spending).</summary>
    Year,
}

/// <summary>
/// The limit transfers to put in front of one counted payment, in its linked chain: grants not yet known to be applied,
/// then one usage transfer per period. Every transfer carries <see cref="TransferFlags.Linked"/>.
/// </summary>
internal sealed class LimitTransfers
{
    public static readonly LimitTransfers None = new([], []);

    private readonly LimitPeriod?[] periods;

    public LimitTransfers(IReadOnlyList<Transfer> transfers, LimitPeriod?[] periods)
    {
        Transfers = transfers;
        this.periods = periods;
    }

    /// <summary>Grants and usage, in chain order; the payment's own transfers follow them.</summary>
    public IReadOnlyList<Transfer> Transfers { get; }

    public int Count => Transfers.Count;

    /// <summary>The period whose cap a failure at <paramref name="index"/> of the chain means was reached, or null when the failure is not a limit's.</summary>
    public LimitPeriod? ExceededAt(int index, TransferResult result) =>
        index < Count && result == TransferResult.ExceedsCredits ? periods[index] : null;

    /// <summary>The grants of this chain, to remember once the chain is applied.</summary>
    internal IEnumerable<TransferId> Grants => Transfers.Where(t => t.Code == TransferCodes.LimitGrant).Select(t => t.Id);
}

/// <summary>
/// Tier limits as ledger movements (TigerBeetle's pattern). Per user and period there is a limit account that can never
/// be overdrawn (<see cref="ChartOfAccounts.SpendingLimit"/>: <c>daily/yyyy-MM-dd</c>, <c>year/yyyy</c>, <c>total</c>),
/// funded by grants from the shared limit-control account. For tier T the account holds one grant per tier step t ≤ T of
/// cap(t) − cap(t−1), each with an id derived from (account, step), so it happens once whatever the retries and however
/// many processes race; an upgrade mid-period adds just the difference. Each counted payment (transfers sent, merchant
/// payments; CNY only) carries, in its own linked chain and before its money transfers, a usage transfer of its amount from
/// each applicable limit account to the payer's own control account (so two people's payments share no account and their
/// batches commit side by side): the ledger's balance check then refuses a payment that would pass a cap, inside the same
/// transaction, so concurrent payments can never exceed it. Grants ride in the chain (a grant applied before answers
/// <see cref="TransferResult.Exists"/>, which a chain accepts) until this process has seen them applied.
/// With <c>Qianbao:Security:Relaxed</c> no limit transfer is made.
/// </summary>
internal sealed class TierLimits(LimitsOptions options, SecurityOptions security, LedgerAccounts accounts, TierStore tiers, TimeProvider clock)
{
    private const int RememberedMax = 1_000_000;

    /// <summary>Bound of <see cref="plans"/>: past it the map is cleared (each entry is recomputed on its next payment).</summary>
    private const int PlansMax = 200_000;

    private readonly ConcurrentDictionary<TransferId, byte> applied = new();

    // Per payer, the limit accounts and grant ids of one (China day, tier): pure functions of those three (stable ids,
    // hashed with SHA-256), so a plan made by any process is the same and needs no invalidation across processes; a
    // new day or another tier makes a new plan. Saves 4–7 hashes per payment.
    private readonly ConcurrentDictionary<Guid, Plan> plans = new();

    /// <param name="Control">The shared account grants come from.</param>
    /// <param name="Usage">The payer's own control account their usage credits.</param>
    private sealed record Plan(DateOnly Day, UserTier Tier, Account Control, Account Usage, PeriodPlan[] Periods);

    private sealed record PeriodPlan(LimitPeriod Period, Account Account, (TransferId Id, long Amount)[] Grants, string UsageSuffix);

    /// <summary>The limit transfers for a payment of <paramref name="amount"/> by <paramref name="payer"/> whose first money transfer is <paramref name="paymentId"/>.</summary>
    public async Task<LimitTransfers> ForPaymentAsync(Guid payer, TransferId paymentId, long amount, Currency currency, CancellationToken ct)
    {
        // The PBOC caps are in yuan; other currencies are not counted.
        if (security.Relaxed || currency != Currency.Cny) return LimitTransfers.None;
        var tier = await tiers.GetAsync(payer, ct) ?? UserTier.Unverified;
        var plan = PlanOf(payer, UserTiers.ChinaToday(clock), tier);
        var control = plan.Control;
        await accounts.EnsureAsync(control, null, ct);
        await accounts.EnsureAsync(plan.Usage, payer, ct);

        var transfers = new List<Transfer>(plan.Periods.Length * 2);
        var periods = new List<LimitPeriod?>(plan.Periods.Length * 2);
        foreach (var period in plan.Periods)
        {
            await accounts.EnsureAsync(period.Account, payer, ct);
            foreach (var (id, grant) in period.Grants)
            {
                if (applied.ContainsKey(id)) continue;
                transfers.Add(new Transfer(id, control.Id, period.Account.Id, grant, Currency.Cny, TransferCodes.LimitGrant, TransferFlags.Linked));
                periods.Add(null);
            }
        }
        var payment = paymentId.ToString();
        foreach (var period in plan.Periods)
        {
            var id = new TransferId(StableId.From("limit-usage", payment + period.UsageSuffix));
            transfers.Add(new Transfer(id, period.Account.Id, plan.Usage.Id, amount, Currency.Cny, TransferCodes.LimitUsage, TransferFlags.Linked));
            periods.Add(period.Period);
        }
        return new LimitTransfers(transfers, [.. periods]);
    }

    private Plan PlanOf(Guid payer, DateOnly today, UserTier tier)
    {
        if (plans.TryGetValue(payer, out var known) && known.Day == today && known.Tier == tier) return known;
        var made = new Plan(today, tier, ChartOfAccounts.LimitControl(), ChartOfAccounts.LimitControl(payer), [.. PeriodsOf(tier).Select(period =>
        {
            var account = ChartOfAccounts.SpendingLimit(payer, AccountName(period, today));
            var grants = Steps(period, tier).Select(s => (new TransferId(StableId.From("limit-grant", $"{account.Id}/{(int)s.Step}")), s.Amount)).ToArray();
            return new PeriodPlan(period, account, grants, "/" + Name(period));
        })]);
        if (plans.Count >= PlansMax) plans.Clear();
        plans[payer] = made;
        return made;
    }

    /// <summary>Remembers the grants of a chain that was applied, so later payments of this process leave them out.</summary>
    public void Applied(LimitTransfers limits)
    {
        foreach (var id in limits.Grants)
        {
            if (applied.Count >= RememberedMax) applied.Clear();
            applied.TryAdd(id, 0);
        }
    }

    /// <summary>422 <c>limit_exceeded</c> with <c>{limit, remaining}</c>, remaining read now.</summary>
    public async Task<IResult> ExceededAsync(Guid userId, LimitPeriod period, CancellationToken ct)
    {
        var tier = await tiers.GetAsync(userId, ct) ?? UserTier.Unverified;
        var state = (await StatesAsync(userId, tier, [period], ct))[0];
        return ApiProblem.WithExtensions(StatusCodes.Status422UnprocessableEntity, ErrorCodes.LimitExceeded, "The request cannot be carried out.",
            $"This payment would pass your {Name(period)} limit ({Yuan(state.MaxMinor)}); {Yuan(state.RemainingMinor)} remains.",
            new Dictionary<string, object?> { ["limit"] = Name(period), ["remaining"] = state.RemainingMinor });
    }

    /// <summary>What one period's cap, use and remainder are now.</summary>
    public sealed record LimitState(LimitPeriod Period, long MaxMinor, long UsedMinor, long RemainingMinor);

    /// <summary>The caps that apply to <paramref name="tier"/> (none for an unverified account), as the ledger holds them now.</summary>
    public Task<IReadOnlyList<LimitState>> StatesAsync(Guid userId, UserTier tier, CancellationToken ct) =>
        tier == UserTier.Unverified ? Task.FromResult<IReadOnlyList<LimitState>>([]) : StatesAsync(userId, tier, Shown(tier), ct);

    private async Task<IReadOnlyList<LimitState>> StatesAsync(Guid userId, UserTier tier, IReadOnlyList<LimitPeriod> periods, CancellationToken ct)
    {
        var today = UserTiers.ChinaToday(clock);
        var ids = periods.Select(p => ChartOfAccounts.SpendingLimit(userId, AccountName(p, today)).Id).ToArray();
        var stored = await accounts.GetAsync(ids, ct);
        var states = new List<LimitState>(periods.Count);
        for (var i = 0; i < periods.Count; i++)
        {
            var cap = Steps(periods[i], tier).Sum(s => s.Amount);
            var (credits, debits) = stored.TryGetValue(ids[i], out var a) ? (a.CreditsPosted, a.DebitsPosted + a.DebitsPending) : (0L, 0L);
            // Grants already made stay (a lowered tier keeps the period's higher cap until the period ends); ungranted steps are still to come.
            var max = Math.Max(cap, credits);
            states.Add(new LimitState(periods[i], max, debits, Math.Max(0, max - debits)));
        }
        return states;
    }

    /// <summary>
    /// The person's daily cap as their tier stands now (CNY minor units), or null where tier limits do not apply (an
    /// unverified account, or <c>Qianbao:Security:Relaxed</c>): Risk's structuring rule watches for payments just below it.
    /// </summary>
    public async Task<long?> DailyCapMinorAsync(Guid userId, CancellationToken ct)
    {
        if (security.Relaxed) return null;
        var tier = await tiers.GetAsync(userId, ct) ?? UserTier.Unverified;
        return tier == UserTier.Unverified ? null : Steps(LimitPeriod.Daily, tier).Sum(s => s.Amount);
    }

    public static string Name(LimitPeriod period) => period switch
    {
        LimitPeriod.Daily => "daily",
        LimitPeriod.Total => "total",
        LimitPeriod.Year => "year",
        _ => throw new ArgumentOutOfRangeException(nameof(period), period, null),
    };

    /// <summary>The periods a payment is counted in: class I (and an account that lost its tier) also counts since opening.</summary>
    private static LimitPeriod[] PeriodsOf(UserTier tier) =>
        tier <= UserTier.ClassI ? [LimitPeriod.Daily, LimitPeriod.Total, LimitPeriod.Year] : [LimitPeriod.Daily, LimitPeriod.Year];

    /// <summary>The periods <c>GET /v1/me/limits</c> shows: the ones whose caps bind (class I's year count is bookkeeping for an upgrade).</summary>
    private static LimitPeriod[] Shown(UserTier tier) =>
        tier <= UserTier.ClassI ? [LimitPeriod.Daily, LimitPeriod.Total] : [LimitPeriod.Daily, LimitPeriod.Year];

    private static string AccountName(LimitPeriod period, DateOnly chinaToday) => period switch
    {
        LimitPeriod.Daily => DayNames.For(chinaToday).Daily,
        LimitPeriod.Year => DayNames.For(chinaToday).Year,
        LimitPeriod.Total => "total",
        _ => throw new ArgumentOutOfRangeException(nameof(period), period, null),
    };

    /// <summary>The period names of one day, formatted once per day rather than on every payment.</summary>
    private sealed record DayNames(DateOnly Day, string Daily, string Year)
    {
        private static DayNames last = Of(default);

        public static DayNames For(DateOnly day)
        {
            var known = Volatile.Read(ref last);
            if (known.Day == day) return known;
            var made = Of(day);
            Volatile.Write(ref last, made);
            return made;
        }

        private static DayNames Of(DateOnly day) => new(day, "daily/" + day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            "year/" + day.Year.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>The grant of each tier step up to <paramref name="tier"/> for <paramref name="period"/>: cap(t) − cap(t−1), zero steps left out.</summary>
    private IEnumerable<(UserTier Step, long Amount)> Steps(LimitPeriod period, UserTier tier)
    {
        // Since-opening is class I's cap alone; higher tiers count by year instead.
        var top = period == LimitPeriod.Total ? (tier >= UserTier.ClassI ? UserTier.ClassI : UserTier.Unverified) : tier;
        var previous = 0L;
        for (var step = UserTier.ClassI; step <= top; step++)
        {
            var cap = Cap(step, period);
            if (cap > previous) yield return (step, cap - previous);
            previous = Math.Max(previous, cap);
        }
    }

    private long Cap(UserTier tier, LimitPeriod period)
    {
        var limits = tier switch
        {
            UserTier.ClassI => options.ClassI,
            UserTier.ClassII => options.ClassII,
            UserTier.ClassIII => options.ClassIII,
            _ => throw new ArgumentOutOfRangeException(nameof(tier), tier, null),
        };
        return period == LimitPeriod.Daily ? limits.DailyMaxMinor : limits.CumulativeMaxMinor;
    }

    private static string Yuan(long minor) => "¥" + (minor / 100m).ToString("N2", CultureInfo.InvariantCulture);
}
