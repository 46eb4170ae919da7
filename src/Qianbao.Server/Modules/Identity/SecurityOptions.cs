using System.ComponentModel.DataAnnotations;

namespace Qianbao.Server.Modules.Identity;

/// <summary>Account security (configuration section <c>Qianbao:Security</c>); every key is listed in README.</summary>
internal sealed class SecurityOptions : Hosting.IOptionsRules
{
    public const string SectionName = "Qianbao:Security";

    /// <summary>
    /// Sandbox switch for load tests and quick trials: no phone verification at registration or on new devices, no
    /// PIN, step-up or bar-code confirmation, no tier limits. Refused in production mode.
    /// </summary>
    public bool Relaxed { get; set; }

    /// <summary>A transfer or withdrawal above this many minor units needs a second factor besides the PIN (0..10^12).</summary>
    [Range(0, 1_000_000_000_000)]
    public long StepUpAboveMinor { get; set; } = 500_000;

    /// <summary>Hours after a device's first login during which its transfers and withdrawals need step-up (0..720; 0 turns it off).</summary>
    [Range(0, 720)]
    public int NewDeviceStepUpHours { get; set; } = 24;

    /// <summary>Most logins a minute from one client address, right or wrong (1..1000000); a limit before any password is hashed.</summary>
    [Range(1, 1_000_000)]
    public int LoginsPerAddressPerMinuteMax { get; set; } = 30;

    /// <summary>A merchant's bar-code payment above this many minor units waits for the buyer to confirm with the PIN (0..10^12).</summary>
    [Range(0, 1_000_000_000_000)]
    public long CodePayConfirmAboveMinor { get; set; } = 100_000;

    /// <summary>
    /// Data keys personal data is sealed with: <c>id:base64,id:base64</c> (32-byte keys), newest first; the first seals, all
    /// open. Unset in sandbox mode: generated into <c>&lt;DataDir&gt;/data-keys</c>. Required in production mode.
    /// </summary>
    public string? DataKeys { get; set; }

    /// <summary>The blind-index key (32 bytes, base64) for lookups by phone, ID number and licence. Unset in sandbox: generated into <c>&lt;DataDir&gt;/index-key</c>.</summary>
    public string? IndexKey { get; set; }

    /// <summary>Rows per batch of the start-up conversion and of the background re-encryption after a key rotation (1..10000).</summary>
    [Range(1, 10_000)]
    public int ReencryptBatchMax { get; set; } = 500;

    IEnumerable<(string Property, string Problem)> Hosting.IOptionsRules.Problems()
    {
        if (!string.IsNullOrWhiteSpace(DataKeys) && Storage.PersonalData.DataKeyRing.TryParseKeys(DataKeys, out _) is { } problem)
            yield return (nameof(DataKeys), problem);
        if (!string.IsNullOrWhiteSpace(IndexKey) && Storage.PersonalData.DataKeyRing.TryKey(IndexKey) is null)
            yield return (nameof(IndexKey), $"must be {Storage.PersonalData.DataKeyRing.KeyBytes} bytes in base64 (openssl rand -base64 32)");
    }
}
