using Qianbao.Ledger;
using Qianbao.Server.Money.Events;

namespace Qianbao.Server.Modules.Risk;

/// <summary>Who a case or a movement is about: a natural person (a user) or a merchant; stored by its snake_case name.</summary>
internal enum SubjectType { User, Merchant }

/// <summary>Which way money went for the subject.</summary>
internal enum Direction { In, Out }

/// <summary>What moved the money; stored by its snake_case name.</summary>
internal enum MovementKind { Transfer, Payment, Refund, Settlement, TopUp, Withdrawal }

/// <summary>One side of a money movement as the AML rules see it.</summary>
internal sealed record AmlMovement(Guid Id, Guid EventId, SubjectType SubjectType, Guid SubjectId, Direction Direction, MovementKind Kind,
    long AmountMinor, string Currency, Guid? CounterpartyId, string Reference, long AtUs)
{
    /// <summary>
    /// Transfers and payments (and their refunds and profit shares) between parties: what large-value reports sum and
    /// structuring counts. Top-ups and withdrawals move money between a person's own bank account and wallet.
    /// </summary>
    public bool Reportable => Kind is MovementKind.Transfer or MovementKind.Payment or MovementKind.Refund or MovementKind.Settlement;

    /// <summary>Money received from someone else (pass-through's "in"): not a top-up.</summary>
    public bool Received => Direction == Direction.In && Kind != MovementKind.TopUp;

    public string ChinaDate => AmlNames.ChinaDate(AtUs);
}

internal static class AmlNames
{
    public static readonly TimeSpan ChinaOffset = TimeSpan.FromHours(8);

    public static string Name(SubjectType t) => t == SubjectType.User ? "user" : "merchant";

    public static string Name(Direction d) => d == Direction.In ? "in" : "out";

    public static string Name(MovementKind k) => k switch
    {
        MovementKind.Transfer => "transfer",
        MovementKind.Payment => "payment",
        MovementKind.Refund => "refund",
        MovementKind.Settlement => "settlement",
        MovementKind.TopUp => "top_up",
        MovementKind.Withdrawal => "withdrawal",
        _ => throw new ArgumentOutOfRangeException(nameof(k), k, null),
    };

    public static SubjectType ParseSubject(string s) => s == "merchant" ? SubjectType.Merchant : SubjectType.User;
    public static Direction ParseDirection(string s) => s == "in" ? Direction.In : Direction.Out;
    public static MovementKind ParseKind(string s) => s switch
    {
        "transfer" => MovementKind.Transfer,
        "payment" => MovementKind.Payment,
        "refund" => MovementKind.Refund,
        "settlement" => MovementKind.Settlement,
        "top_up" => MovementKind.TopUp,
        _ => MovementKind.Withdrawal,
    };

    /// <summary>YYYY-MM-DD of a moment in China time (UTC+8, no daylight saving).</summary>
    /// <remarks>
    /// The rules compare every movement of a subject's window by date, once per movement of the batch, so this is called
    /// O(window × batch) times: the day is integer arithmetic and its text is formatted once per day (a few days cached;
    /// each slot holds one immutable pair, so a racing reader sees an old or a new pair, never half of one).
    /// </remarks>
    public static string ChinaDate(long atUs)
    {
        var day = Math.DivRem(atUs + ChinaOffsetUs, MicrosPerDay, out var rest);
        if (rest < 0) day--;
        var slot = (int)(day & (DateTexts.Length - 1));
        var known = Volatile.Read(ref DateTexts[slot]);
        if (known is not null && known.Day == day) return known.Text;
        var text = DateOnly.FromDayNumber(checked((int)(UnixEpochDayNumber + day)))
            .ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        Volatile.Write(ref DateTexts[slot], new DateText(day, text));
        return text;
    }

    /// <summary>When the China day of <paramref name="atUs"/> began (the first microsecond with the same <see cref="ChinaDate"/>).</summary>
    public static long ChinaDayStartUs(long atUs)
    {
        var day = Math.DivRem(atUs + ChinaOffsetUs, MicrosPerDay, out var rest);
        if (rest < 0) day--;
        return day * MicrosPerDay - ChinaOffsetUs;
    }

    private const long MicrosPerDay = 86_400_000_000L;
    private static readonly long ChinaOffsetUs = (long)ChinaOffset.TotalMicroseconds;
    private static readonly int UnixEpochDayNumber = new DateOnly(1970, 1, 1).DayNumber;

    /// <summary>Bound: 8 days' texts.</summary>
    private static readonly DateText?[] DateTexts = new DateText?[8];

    private sealed record DateText(long Day, string Text);

    /// <summary>The first microsecond of a China date, as Unix microseconds.</summary>
    public static long ChinaDayStartUs(DateOnly date) =>
        Hosting.TimeProviderExtensions.ToUnixMicroseconds(new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), ChinaOffset));
}

/// <summary>The movements a domain event stands for, one per side; ids derived from the event so a redelivery repeats them exactly.</summary>
internal static class AmlMovements
{
    public static readonly IReadOnlySet<string> EventTypesOfInterest = new HashSet<string>(StringComparer.Ordinal)
    {
        EventTypes.NameOf<TransferCompleted>(), EventTypes.NameOf<TradePaid>(), EventTypes.NameOf<TradeRefunded>(),
        EventTypes.NameOf<TradeSettled>(), EventTypes.NameOf<TopUpSucceeded>(), EventTypes.NameOf<WithdrawalSucceeded>(),
    };

    /// <param name="isMerchant">Whether a withdrawal's owner is a merchant (a withdrawal event does not say).</param>
    public static IReadOnlyList<AmlMovement> From(StoredEvent stored, Func<Guid, bool> isMerchant)
    {
        var list = new List<AmlMovement>();
        var at = stored.OccurredAtUs;
        void Add(SubjectType type, Guid subject, Direction direction, MovementKind kind, long amount, string currency, Guid? counterparty, string reference)
        {
            var id = StableId.From("aml-movement", $"{stored.EventId:N}/{list.Count}");
            list.Add(new AmlMovement(id, stored.EventId, type, subject, direction, kind, amount, currency, counterparty, reference, at));
        }
        switch (stored.Event)
        {
            case TransferCompleted t:
                Add(SubjectType.User, t.FromUserId, Direction.Out, MovementKind.Transfer, t.AmountMinor, t.Currency, t.ToUserId, t.TransferId.ToString());
                Add(SubjectType.User, t.ToUserId, Direction.In, MovementKind.Transfer, t.AmountMinor, t.Currency, t.FromUserId, t.TransferId.ToString());
                break;
            case TradePaid p:
                Add(SubjectType.User, p.BuyerId, Direction.Out, MovementKind.Payment, p.AmountMinor, p.Currency, p.MerchantId, p.TradeNo);
                Add(SubjectType.Merchant, p.MerchantId, Direction.In, MovementKind.Payment, p.AmountMinor, p.Currency, p.BuyerId, p.TradeNo);
                break;
            case TradeRefunded r:
                Add(SubjectType.Merchant, r.MerchantId, Direction.Out, MovementKind.Refund, r.AmountMinor, r.Currency, r.BuyerId, r.TradeNo);
                Add(SubjectType.User, r.BuyerId, Direction.In, MovementKind.Refund, r.AmountMinor, r.Currency, r.MerchantId, r.TradeNo);
                break;
            case TradeSettled s:
                foreach (var share in s.Shares)
                {
                    Add(SubjectType.Merchant, s.MerchantId, Direction.Out, MovementKind.Settlement, share.AmountMinor, s.Currency, share.ReceiverMerchantId, s.TradeNo);
                    Add(SubjectType.Merchant, share.ReceiverMerchantId, Direction.In, MovementKind.Settlement, share.AmountMinor, s.Currency, s.MerchantId, s.TradeNo);
                }
                break;
            case TopUpSucceeded u:
                Add(SubjectType.User, u.OwnerId, Direction.In, MovementKind.TopUp, u.AmountMinor, u.Currency, null, u.TopUpId.ToString());
                break;
            case WithdrawalSucceeded w:
                Add(isMerchant(w.OwnerId) ? SubjectType.Merchant : SubjectType.User, w.OwnerId, Direction.Out, MovementKind.Withdrawal, w.AmountMinor,
                    w.Currency, null, w.WithdrawalId.ToString());
                break;
        }
        return list;
    }
}
