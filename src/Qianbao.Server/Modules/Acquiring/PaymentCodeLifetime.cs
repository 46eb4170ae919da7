namespace Qianbao.Server.Modules.Acquiring;

/// <summary>
/// What a buyer's payment code authorises: payment attempts for the one trade it was spent on, within its lifetime.
/// It is not a standing debit: a till that retries after the code expired (say after the buyer topped up) must ask
/// for a fresh code, because the buyer agreed to pay only while the code was on the screen.
/// </summary>
internal static class PaymentCodeLifetime
{
    /// <summary>True while an attempt at <paramref name="nowUs"/> falls inside the lifetime ending at <paramref name="expiresAtUs"/> (exclusive).</summary>
    public static bool AuthorisesAttempt(long expiresAtUs, long nowUs) => nowUs < expiresAtUs;
}
