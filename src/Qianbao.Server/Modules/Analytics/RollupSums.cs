using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Analytics;

/// <summary>
/// A batch's changes summed per rollup row in memory, written as one upsert per table (issue 13: each payment was six
/// upserts, 44 % of a coupon payment's statements). Sums, minimums and maximums commute, so writing the sums once adds up to
/// what writing the changes one by one did; the demographic buckets of a payer's day are the last change's, as they were.
/// Rows first written by a change keep that change's values (<c>ON CONFLICT DO NOTHING</c> tables): the first of the batch wins.
/// Every table's rows are unique per key, which PostgreSQL's <c>INSERT … ON CONFLICT DO UPDATE</c> requires of one command.
/// </summary>
internal sealed class RollupSums
{
    private readonly Dictionary<(Guid Merchant, long Hour), MerchantHour> merchantHours = [];
    private readonly Dictionary<(Guid Merchant, Guid Payer), MerchantPayer> merchantPayers = [];
    private readonly Dictionary<(Guid Merchant, int Day, Guid Payer), PayerDay> payerDays = [];
    private readonly Dictionary<(Guid Merchant, long Hour, Guid Campaign), CampaignHour> campaignHours = [];
    private readonly Dictionary<(int Day, PlatformKind Kind), PlatformDay> platformDays = [];
    private readonly HashSet<(int Day, Guid User)> activeDays = [];
    private readonly Dictionary<Guid, int> userDays = [];
    private readonly Dictionary<Guid, int> verifiedDays = [];
    private readonly Dictionary<(Guid Campaign, int Day), long> cashbackDays = [];

    /// <summary>Adds one change to the sums.</summary>
    public void Add(AnalyticsChange change)
    {
        var hour = ChinaCalendar.HourOf(change.AtUs);
        var day = ChinaCalendar.DayOfHour(hour);
        switch (change)
        {
            case PaymentCounted p:
                AddMerchantHour((p.MerchantId, hour), new MerchantHour(p.AmountMinor, 1, 0, 0, p.DiscountMinor));
                merchantPayers[(p.MerchantId, p.PayerId)] = merchantPayers.TryGetValue((p.MerchantId, p.PayerId), out var mp)
                    ? new MerchantPayer(Math.Min(mp.FirstDay, day), Math.Max(mp.LastDay, day), mp.Orders + 1)
                    : new MerchantPayer(day, day, 1);
                payerDays[(p.MerchantId, day, p.PayerId)] = new PayerDay(payerDays.GetValueOrDefault((p.MerchantId, day, p.PayerId)).Orders + 1, p.Buckets);
                foreach (var (campaignId, discount) in p.Campaigns)
                {
                    var sum = campaignHours.GetValueOrDefault((p.MerchantId, hour, campaignId));
                    campaignHours[(p.MerchantId, hour, campaignId)] = new CampaignHour(sum.Orders + 1, sum.DiscountMinor + discount, sum.GmvMinor + p.AmountMinor);
                }
                AddPlatformDay(day, PlatformKind.Payment, p.AmountMinor);
                activeDays.Add((day, p.PayerId));
                break;
            case RefundCounted r:
                AddMerchantHour((r.MerchantId, hour), new MerchantHour(0, 0, 1, r.AmountMinor, 0));
                AddPlatformDay(day, PlatformKind.Refund, r.AmountMinor);
                break;
            case UserCounted u:
                userDays.TryAdd(u.UserId, day);
                AddPlatformDay(day, PlatformKind.Registration, 0);
                break;
            case VerifiedCounted v:
                // Keyed by the user: a user counts once, on the day of the verification, however often the fact is delivered.
                verifiedDays.TryAdd(v.UserId, day);
                break;
            case PlatformCounted k:
                AddPlatformDay(day, k.Kind, k.AmountMinor);
                if (k.ActiveUserId is { } user) activeDays.Add((day, user));
                break;
            case CashbackCounted b:
                AddPlatformDay(day, PlatformKind.Cashback, b.AmountMinor);
                cashbackDays[(b.CampaignId, day)] = cashbackDays.GetValueOrDefault((b.CampaignId, day)) + b.AmountMinor;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(change), change.GetType().Name, "not an analytics change this store sums");
        }
    }

    /// <summary>
    /// The upserts that add the sums: on PostgreSQL one per table that has rows (its rows as arrays through <c>unnest</c>, sent
    /// in one round trip by <see cref="SqlBatch"/>); on SQLite, in process, one per row.
    /// </summary>
    public List<SqlStatement> Statements(bool postgres)
    {
        var statements = new List<SqlStatement>();
        Upsert("analytics_merchant_hours", """
            ON CONFLICT (merchant_id, hour_no) DO UPDATE SET gmv_minor = analytics_merchant_hours.gmv_minor + excluded.gmv_minor,
                orders = analytics_merchant_hours.orders + excluded.orders, refunds = analytics_merchant_hours.refunds + excluded.refunds,
                refund_minor = analytics_merchant_hours.refund_minor + excluded.refund_minor,
                discount_minor = analytics_merchant_hours.discount_minor + excluded.discount_minor
            """, merchantHours)
            .Column("merchant_id", "uuid", r => r.Key.Merchant)
            .Column("hour_no", "bigint", r => r.Key.Hour)
            .Column("gmv_minor", "bigint", r => r.Value.GmvMinor)
            .Column("orders", "bigint", r => r.Value.Orders)
            .Column("refunds", "bigint", r => r.Value.Refunds)
            .Column("refund_minor", "bigint", r => r.Value.RefundMinor)
            .Column("discount_minor", "bigint", r => r.Value.DiscountMinor)
            .AddTo(statements, postgres);
        Upsert("analytics_merchant_payers", """
            ON CONFLICT (merchant_id, payer_id) DO UPDATE SET
                first_day = CASE WHEN excluded.first_day < analytics_merchant_payers.first_day THEN excluded.first_day ELSE analytics_merchant_payers.first_day END,
                last_day = CASE WHEN excluded.last_day > analytics_merchant_payers.last_day THEN excluded.last_day ELSE analytics_merchant_payers.last_day END,
                orders = analytics_merchant_payers.orders + excluded.orders
            """, merchantPayers)
            .Column("merchant_id", "uuid", r => r.Key.Merchant)
            .Column("payer_id", "uuid", r => r.Key.Payer)
            .Column("first_day", "integer", r => r.Value.FirstDay)
            .Column("last_day", "integer", r => r.Value.LastDay)
            .Column("orders", "bigint", r => r.Value.Orders)
            .AddTo(statements, postgres);
        Upsert("analytics_payer_days", """
            ON CONFLICT (merchant_id, day, payer_id) DO UPDATE SET orders = analytics_payer_days.orders + excluded.orders,
                gender = excluded.gender, age_band = excluded.age_band, province = excluded.province
            """, payerDays)
            .Column("merchant_id", "uuid", r => r.Key.Merchant)
            .Column("day", "integer", r => r.Key.Day)
            .Column("payer_id", "uuid", r => r.Key.Payer)
            .Column("orders", "bigint", r => r.Value.Orders)
            .Column("gender", "smallint", r => r.Value.Buckets.Gender)
            .Column("age_band", "smallint", r => r.Value.Buckets.AgeBand)
            .Column("province", "smallint", r => r.Value.Buckets.Province)
            .AddTo(statements, postgres);
        Upsert("analytics_campaign_hours", """
            ON CONFLICT (merchant_id, hour_no, campaign_id) DO UPDATE SET orders = analytics_campaign_hours.orders + excluded.orders,
                discount_minor = analytics_campaign_hours.discount_minor + excluded.discount_minor,
                gmv_minor = analytics_campaign_hours.gmv_minor + excluded.gmv_minor
            """, campaignHours)
            .Column("merchant_id", "uuid", r => r.Key.Merchant)
            .Column("campaign_id", "uuid", r => r.Key.Campaign)
            .Column("hour_no", "bigint", r => r.Key.Hour)
            .Column("orders", "bigint", r => r.Value.Orders)
            .Column("discount_minor", "bigint", r => r.Value.DiscountMinor)
            .Column("gmv_minor", "bigint", r => r.Value.GmvMinor)
            .AddTo(statements, postgres);
        Upsert("analytics_platform_days", """
            ON CONFLICT (day, kind) DO UPDATE SET count = analytics_platform_days.count + excluded.count,
                volume_minor = analytics_platform_days.volume_minor + excluded.volume_minor
            """, platformDays)
            .Column("day", "integer", r => r.Key.Day)
            .Column("kind", "text", r => PlatformKinds.Name(r.Key.Kind))
            .Column("count", "bigint", r => r.Value.Count)
            .Column("volume_minor", "bigint", r => r.Value.VolumeMinor)
            .AddTo(statements, postgres);
        Upsert("analytics_active_days", "ON CONFLICT (day, user_id) DO NOTHING", activeDays)
            .Column("day", "integer", r => r.Day)
            .Column("user_id", "uuid", r => r.User)
            .AddTo(statements, postgres);
        Upsert("analytics_users", "ON CONFLICT (user_id) DO NOTHING", userDays)
            .Column("user_id", "uuid", r => r.Key)
            .Column("registered_day", "integer", r => r.Value)
            .AddTo(statements, postgres);
        Upsert("analytics_verified_users", "ON CONFLICT (user_id) DO NOTHING", verifiedDays)
            .Column("user_id", "uuid", r => r.Key)
            .Column("day", "integer", r => r.Value)
            .AddTo(statements, postgres);
        Upsert("analytics_cashback_days", """
            ON CONFLICT (day, campaign_id) DO UPDATE SET amount_minor = analytics_cashback_days.amount_minor + excluded.amount_minor
            """, cashbackDays)
            .Column("campaign_id", "uuid", r => r.Key.Campaign)
            .Column("day", "integer", r => r.Key.Day)
            .Column("amount_minor", "bigint", r => r.Value)
            .AddTo(statements, postgres);
        return statements;
    }

    private void AddMerchantHour((Guid Merchant, long Hour) key, MerchantHour add)
    {
        var sum = merchantHours.GetValueOrDefault(key);
        merchantHours[key] = new MerchantHour(sum.GmvMinor + add.GmvMinor, sum.Orders + add.Orders, sum.Refunds + add.Refunds,
            sum.RefundMinor + add.RefundMinor, sum.DiscountMinor + add.DiscountMinor);
    }

    private void AddPlatformDay(int day, PlatformKind kind, long amountMinor)
    {
        var sum = platformDays.GetValueOrDefault((day, kind));
        platformDays[(day, kind)] = new PlatformDay(sum.Count + 1, sum.VolumeMinor + amountMinor);
    }

    private static Rows<TRow> Upsert<TRow>(string table, string onConflict, IEnumerable<TRow> rows) => new(table, onConflict, [.. rows]);

    /// <summary>A table's rows to upsert and its columns: each column's name, PostgreSQL type and how a row gives its value.</summary>
    private sealed class Rows<TRow>(string table, string onConflict, IReadOnlyList<TRow> rows)
    {
        private readonly List<(string Name, string PgType, Func<object> Array, Func<TRow, object?> Value)> columns = [];

        public Rows<TRow> Column<T>(string name, string pgType, Func<TRow, T> of)
        {
            // A typed array: Npgsql sends it as pgType[].
            columns.Add((name, pgType, () => rows.Select(of).ToArray(), row => of(row)));
            return this;
        }

        /// <summary>Adds the upsert: on PostgreSQL one statement of arrays through <c>unnest</c>, on SQLite one per row.</summary>
        public void AddTo(List<SqlStatement> statements, bool postgres)
        {
            if (rows.Count == 0) return;
            var names = string.Join(", ", columns.Select(c => c.Name));
            if (postgres)
            {
                var arrays = string.Join(", ", columns.Select(c => $"@{c.Name}::{c.PgType}[]"));
                statements.Add(new SqlStatement($"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) {onConflict}",
                    columns.ToDictionary(c => c.Name, c => (object?)c.Array())));
                return;
            }
            var sql = $"INSERT INTO {table} ({names}) VALUES ({string.Join(", ", columns.Select(c => "@" + c.Name))}) {onConflict}";
            foreach (var row in rows) statements.Add(new SqlStatement(sql, columns.ToDictionary(c => c.Name, c => c.Value(row))));
        }
    }

    private readonly record struct MerchantHour(long GmvMinor, long Orders, long Refunds, long RefundMinor, long DiscountMinor);

    private readonly record struct MerchantPayer(int FirstDay, int LastDay, long Orders);

    private readonly record struct PayerDay(long Orders, Buckets Buckets);

    private readonly record struct CampaignHour(long Orders, long DiscountMinor, long GmvMinor);

    private readonly record struct PlatformDay(long Count, long VolumeMinor);
}
