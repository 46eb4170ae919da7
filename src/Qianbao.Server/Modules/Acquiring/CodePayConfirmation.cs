using Qianbao.Server.Modules.Identity;

namespace Qianbao.Server.Modules.Acquiring;

/// <summary>
/// Whether a trade paid with a payment code (the merchant scanned it) waits for the buyer instead of being paid at once:
/// above <c>Qianbao:Security:CodePayConfirmAboveMinor</c> (not with <c>Relaxed</c>) a code alone, which anyone who glimpses
/// the buyer's screen can read, is not enough. The trade stays <c>WAIT_BUYER_PAY</c> with the code's owner as its buyer,
/// who confirms it with <c>POST /v1/trades/{trade_no}/pay</c> and the PIN, like a trade created for them; the merchant
/// learns the outcome by querying (or by the notification), as with Alipay's "waiting for the user to pay".
/// </summary>
internal sealed class CodePayConfirmation(SecurityOptions security)
{
    public bool AwaitsBuyer(TradeRow trade) =>
        !security.Relaxed && trade.status == TradeStatus.WaitBuyerPay && trade.buyer_id is not null && trade.total_amount > security.CodePayConfirmAboveMinor;
}
