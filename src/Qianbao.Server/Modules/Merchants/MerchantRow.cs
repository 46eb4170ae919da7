namespace Qianbao.Server.Modules.Merchants;

/// <summary>A merchant as stored. Only <c>verified</c> merchants may transact through the gateway.</summary>
internal sealed class MerchantRow
{
    public const string Pending = "pending";
    public const string Verified = "verified";

    public Guid id { get; init; }
    public string name { get; init; } = "";
    public string licence_no { get; init; } = "";   // the blind index since 0016
    public string? licence_enc { get; init; }
    public string legal_person { get; init; } = "";
    public string contact_phone { get; init; } = "";
    public int fee_bps { get; init; }
    public string status { get; init; } = "";
    public long created_at_us { get; init; }
    public long? verified_at_us { get; init; }

    public const string Columns = "id, name, licence_no, licence_enc, legal_person, contact_phone, fee_bps, status, created_at_us, verified_at_us";
}
