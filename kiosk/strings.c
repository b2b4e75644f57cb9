/* strings.c — the kiosk's one strings table. Keep it NFC (tests/ui/test_ui_logic.c checks that every entry
 * is valid UTF-8 without combining marks, which is how a decomposed "ế" would sneak in). */
#include "kiosk/strings.h"

static const char *const STRINGS[STR_COUNT] = {
    [STR_AREA_TITLE] = "Ông/Bà vừa thực hiện thủ tục thuộc lĩnh vực nào?",
    [STR_RATING_TITLE] = "Ông/Bà có hài lòng với việc giải quyết thủ tục hành chính không?",
    [STR_RATING_AREA] = "Lĩnh vực: %s",
    [STR_BACK] = "‹ Quay lại",
    [STR_REASONS_TITLE] = "Ông/Bà chưa hài lòng về điều gì?",
    [STR_REASONS_HINT] = "(có thể chọn nhiều)",
    [STR_SEND] = "Gửi",
    [STR_SKIP] = "Bỏ qua",
    [STR_THANKS_TITLE] = "Cảm ơn Ông/Bà đã đánh giá!",
    [STR_THANKS_BODY] = "Ý kiến của Ông/Bà giúp chúng tôi phục vụ tốt hơn.",
    [STR_STORAGE_TITLE] = "Xin lỗi Ông/Bà, máy đang tạm gặp sự cố.",
    [STR_STORAGE_BODY] = "Đánh giá vừa rồi chưa được ghi nhận. Kính mong Ông/Bà vui lòng báo cho cán bộ tại quầy. "
                         "Xin cảm ơn!",
    [STR_STORAGE_RETRY] = "Thử lại",
    [STR_PIN_TITLE] = "Nhập mã PIN của cán bộ giám sát",
    [STR_PIN_TITLE_EXIT] = "Nhập mã PIN để thoát ứng dụng",
    [STR_PIN_WRONG] = "Mã PIN không đúng. Còn %d lần thử.",
    [STR_PIN_LOCKED] = "Đã nhập sai quá nhiều lần. Vui lòng thử lại sau %d phút.",
    [STR_CANCEL] = "Huỷ",
    [STR_OK] = "OK",
    [STR_DELETE] = "Xoá",
    [STR_SUP_TITLE] = "Kết quả đánh giá ngày %s",
    [STR_SUP_TODAY] = "(hôm nay)",
    [STR_SUP_COL_AREA] = "Lĩnh vực",
    [STR_SUP_COL_N] = "Tổng",
    [STR_SUP_COL_PCT] = "Hài lòng",
    [STR_SUP_COL_FLAGGED] = "Nghi lạm dụng",
    [STR_SUP_TOTAL] = "Tất cả",
    [STR_SUP_CHART_TITLE] = "Tỷ lệ hài lòng theo lĩnh vực",
    [STR_SUP_TARGET_2025] = "Mục tiêu 2025",
    [STR_SUP_TARGET_2030] = "Mục tiêu 2030",
    [STR_SUP_PENDING] = "Chưa tải lên: %lld",
    [STR_SUP_FLAGGED] = "Nghi lạm dụng (không tính %%): %lld",
    [STR_SUP_REJECTED] = "Máy chủ từ chối: %lld",
    [STR_SUP_LAST_OK] = "Tải lên thành công lần cuối: %s",
    [STR_SUP_NEVER] = "chưa lần nào",
    [STR_SUP_LAST_ERROR] = "Lỗi gần nhất: %s",
    [STR_SUP_NO_ERROR] = "Lỗi gần nhất: không có",
    [STR_SUP_SYNC_WAITING] = "Đã yêu cầu đồng bộ lúc %s, đang chờ chương trình tải lên…",
    [STR_SUP_CLOCK_WARNING] = "Cảnh báo: đồng hồ của máy bị sai lệch, vui lòng chỉnh lại giờ.",
    [STR_SUP_SYNC_FAILED] = "Không ghi được yêu cầu đồng bộ. Vui lòng thử lại.",
    [STR_SUP_READ_FAILED] = "Không đọc được dữ liệu. Vui lòng kiểm tra bộ nhớ của máy.",
    [STR_SUP_NO_DATA] = "Chưa có đánh giá nào trong ngày này.",
    [STR_SUP_SYNC_NOW] = "Đồng bộ ngay",
    [STR_SUP_CLOSE] = "Thoát",
    [STR_SUP_EXIT_APP] = "Thoát ứng dụng",
};

const char *str(StrId id)
{
    if((unsigned)id >= STR_COUNT || !STRINGS[id])
        return "";
    return STRINGS[id];
}
