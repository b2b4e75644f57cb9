/* tally_strings.h — every Vietnamese text the central tally shows people (dashboard pages, report files).
 *
 * One table, keyed by name, UTF-8 NFC with full diacritics; logic code names a key, never a literal. Renderers
 * of every format (HTML here, CSV/XLSX/PDF beside it) take headings and notes from here so a sentence is worded
 * once. Add a key at the end of its section; tests check every entry is NFC and non-empty. */
#ifndef SYNC_TALLY_STRINGS_H
#define SYNC_TALLY_STRINGS_H

#define TALLY_STRINGS(X)                                                                                          \
    /* Product and scope */                                                                                       \
    X(TS_PRODUCT, "Đánh giá mức độ hài lòng tại Bộ phận Một cửa")                                                 \
    X(TS_ISSUER, "UBND tỉnh Gia Lai · Sở Nội vụ")                                                                 \
    X(TS_SCOPE_PROVINCE, "Toàn tỉnh")                                                                             \
    X(TS_NOTE_INDICATIVE, "Số liệu từ máy đánh giá tại quầy mang tính tham khảo, bổ trợ cho kết quả điều tra xã hội học của Sở Nội vụ.") \
    X(TS_NOTE_SUPPLEMENTARY, "Với y tế và giáo dục, số liệu này chỉ bổ sung cho kết quả đo lường của Sở Y tế và Sở Giáo dục và Đào tạo.") \
    /* Navigation and meta */                                                                                     \
    X(TS_NAV_OVERVIEW, "Tổng quan")                                                                               \
    X(TS_NAV_UNITS, "Đơn vị")                                                                                     \
    X(TS_NAV_DEVICES, "Thiết bị")                                                                                 \
    X(TS_NAV_ALERTS, "Cảnh báo")                                                                                  \
    X(TS_SIGN_OUT, "Đăng xuất")                                                                                   \
    X(TS_SIGNED_IN_AS, "Đang đăng nhập")                                                                          \
    X(TS_META_PERIOD, "Kỳ báo cáo")                                                                               \
    X(TS_META_SCOPE, "Phạm vi")                                                                                   \
    X(TS_META_LAST_DATA, "Dữ liệu nhận lần cuối")                                                                 \
    X(TS_META_GENERATED, "Lập lúc")                                                                               \
    X(TS_META_NO_DATA, "chưa nhận dữ liệu")                                                                        \
    X(TS_META_PREV, "Kỳ trước")                                                                                   \
    /* Periods */                                                                                                 \
    X(TS_PERIOD_MONTH, "Tháng")                                                                                   \
    X(TS_PERIOD_QUARTER, "Quý")                                                                                   \
    X(TS_PERIOD_HALF, "6 tháng")                                                                                  \
    X(TS_PERIOD_9MONTH, "9 tháng")                                                                                \
    X(TS_PERIOD_YEAR, "Năm")                                                                                      \
    X(TS_PERIOD_CUSTOM, "Tùy chọn")                                                                               \
    X(TS_PERIOD_FROM, "Từ ngày")                                                                                  \
    X(TS_PERIOD_TO, "Đến ngày")                                                                                   \
    X(TS_PERIOD_SHOW, "Xem")                                                                                      \
    X(TS_PERIOD_LABEL_MONTH, "Tháng %d năm %d")                                                                   \
    X(TS_PERIOD_LABEL_QUARTER, "Quý %s năm %d")                                                                   \
    X(TS_PERIOD_LABEL_H1, "6 tháng đầu năm %d")                                                                   \
    X(TS_PERIOD_LABEL_H2, "6 tháng cuối năm %d")                                                                  \
    X(TS_PERIOD_LABEL_9MONTH, "9 tháng năm %d")                                                                   \
    X(TS_PERIOD_LABEL_YEAR, "Năm %d")                                                                             \
    /* Verdicts */                                                                                                \
    X(TS_STATUS_DAT_2025, "Đạt mốc 2025")                                                                         \
    X(TS_STATUS_DAT_2030, "Đạt mốc 2030")                                                                         \
    X(TS_STATUS_KHONG_DAT_2025, "Chưa đạt mốc 2025")                                                              \
    X(TS_STATUS_KHONG_DAT_2030, "Chưa đạt mốc 2030")                                                              \
    X(TS_STATUS_CHUA_DU_MAU, "Chưa đủ mẫu")                                                                       \
    X(TS_STATUS_DAT, "Đạt")                                                                                       \
    X(TS_STATUS_KHONG_DAT, "Không đạt")                                                                           \
    X(TS_STATUS_NO_DATA, "Chưa có đánh giá")                                                                      \
    /* Figures */                                                                                                 \
    X(TS_FIG_PCT, "Tỷ lệ hài lòng")                                                                               \
    X(TS_FIG_N, "Số đánh giá hợp lệ")                                                                             \
    X(TS_FIG_SATISFIED, "Hài lòng")                                                                               \
    X(TS_FIG_INTERVAL, "Khoảng tin cậy 95%")                                                                      \
    X(TS_FIG_FLAGGED, "Nghi lạm dụng (không tính)")                                                               \
    X(TS_FIG_TARGET_2025, "Chỉ tiêu 2025")                                                                        \
    X(TS_FIG_TARGET_2030, "Chỉ tiêu 2030")                                                                        \
    X(TS_FIG_CHANGE, "So với kỳ trước")                                                                           \
    X(TS_FIG_NO_CHANGE, "chưa có số liệu kỳ trước")                                                               \
    X(TS_FIG_POINTS, "điểm %")                                                                                     \
    X(TS_FIG_TOTAL, "Tất cả lĩnh vực")                                                                            \
    X(TS_FIG_UNSATISFIED, "Không hài lòng")                                                                       \
    X(TS_FIG_WAIT, "Chờ không quá 30 phút")                                                                       \
    X(TS_FIG_WAIT_N, "Số trả lời về thời gian chờ")                                                               \
    X(TS_FIG_WAIT_NOTE, "Chờ không quá 30 phút: tỷ lệ người đã chờ dưới 15 phút hoặc 15–30 phút trong số người trả lời câu hỏi thời gian chờ (không tính đánh giá nghi lạm dụng). Quy định của tỉnh: không để người dân chờ quá 30 phút; chỉ số này không có mốc đạt/không đạt.") \
    X(TS_FIG_RESPONDENT, "Đối tượng đánh giá")                                                                    \
    X(TS_FIG_ALL_RESPONDENTS, "Tất cả đối tượng")                                                                 \
    X(TS_FIG_ALL_AREAS, "Tất cả lĩnh vực")                                                                        \
    X(TS_FIG_RESPONDENT_NONE, "Không trả lời")                                                                    \
    X(TS_FIG_RESPONDENT_NOTE, "Chỉ tiêu TTHC hướng tới người dân, doanh nghiệp; chỉ tiêu sự phục vụ của cơ quan hành chính nhà nước hướng tới người dân, tổ chức. Nhóm phục vụ tính câu hỏi về sự phục vụ của cán bộ, công chức, chỉ ở máy có hỏi câu này.") \
    /* Overview */                                                                                                \
    X(TS_OV_RESPONDENTS, "Theo đối tượng đánh giá và thời gian chờ")                                              \
    X(TS_OV_TITLE, "Tổng quan mức độ hài lòng")                                                                   \
    X(TS_OV_TREND, "Diễn biến theo tháng năm %d")                                                                 \
    X(TS_OV_TREND_NOTE, "Đường nét đứt: chỉ tiêu 2025 và 2030. Tháng có ít hơn %d đánh giá hiển thị điểm rỗng.") \
    X(TS_OV_RANK, "Đơn vị thấp nhất so với chỉ tiêu")                                                             \
    X(TS_OV_RANK_METHOD, "Xếp hạng theo cận trên của khoảng tin cậy Wilson 95% (từ thấp lên): đơn vị có ít đánh giá có khoảng rộng nên không bị xếp đầu hay cuối chỉ vì mẫu nhỏ.") \
    X(TS_OV_RANK_EMPTY, "Chưa có quầy nào có đánh giá trong kỳ này.")                                             \
    X(TS_OV_RANK_UPPER, "Cận trên")                                                                               \
    X(TS_OV_GAP, "Cách chỉ tiêu 2025")                                                                            \
    X(TS_OV_GROUP, "Nhóm chỉ tiêu")                                                                               \
    /* Units */                                                                                                   \
    X(TS_UNITS_TITLE, "Đơn vị")                                                                                   \
    X(TS_UNITS_HINT, "Bấm vào tên đơn vị để xem chi tiết; bấm tiêu đề cột để sắp xếp.")                           \
    X(TS_UNIT_CODE, "Mã định danh")                                                                               \
    X(TS_UNIT_NAME, "Tên đơn vị")                                                                                 \
    X(TS_UNIT_SUBUNITS, "Đơn vị trực thuộc")                                                                      \
    X(TS_UNIT_AREAS, "Theo lĩnh vực")                                                                             \
    X(TS_UNIT_AREA, "Lĩnh vực")                                                                                   \
    X(TS_UNIT_DEVICES, "Máy đánh giá tại quầy")                                                                   \
    X(TS_UNIT_HEAT, "Số đánh giá theo giờ và thứ")                                                                \
    X(TS_UNIT_HEAT_UNSAT, "Số đánh giá không hài lòng theo giờ và thứ")                                           \
    X(TS_UNIT_REASONS, "Lý do không hài lòng")                                                                    \
    X(TS_UNIT_REASONS_NOTE, "Người dân có thể chọn tối đa hai lý do; %lld đánh giá không hài lòng trong kỳ.")     \
    X(TS_UNIT_UP, "Lên đơn vị cấp trên")                                                                          \
    X(TS_UNIT_NONE, "Không có đơn vị trực thuộc.")                                                                \
    X(TS_UNIT_NO_REASONS, "Chưa có lý do nào được ghi nhận trong kỳ.")                                            \
    X(TS_WEEKDAY_MON, "T2")                                                                                       \
    X(TS_WEEKDAY_TUE, "T3")                                                                                       \
    X(TS_WEEKDAY_WED, "T4")                                                                                       \
    X(TS_WEEKDAY_THU, "T5")                                                                                       \
    X(TS_WEEKDAY_FRI, "T6")                                                                                       \
    X(TS_WEEKDAY_SAT, "T7")                                                                                       \
    X(TS_WEEKDAY_SUN, "CN")                                                                                       \
    /* Devices */                                                                                                 \
    X(TS_DEV_TITLE, "Thiết bị (máy đánh giá)")                                                                    \
    X(TS_DEV_ID, "Mã máy")                                                                                        \
    X(TS_DEV_UNIT, "Đơn vị")                                                                                      \
    X(TS_DEV_LAST, "Gửi dữ liệu lần cuối")                                                                        \
    X(TS_DEV_RECEIVED, "Số đánh giá đã nhận")                                                                     \
    X(TS_DEV_SKEW, "Lệch đồng hồ")                                                                                \
    X(TS_DEV_MISSING, "Đánh giá bị thiếu")                                                                        \
    X(TS_DEV_QUARANTINED, "Bị giữ lại (đồng hồ sai)")                                                             \
    X(TS_DEV_STATE, "Tình trạng")                                                                                 \
    X(TS_DEV_OK, "Bình thường")                                                                                   \
    X(TS_DEV_SILENT, "Im lặng quá 2 ngày")                                                                        \
    X(TS_DEV_NEVER, "Chưa gửi lần nào")                                                                           \
    X(TS_DEV_SKEWED, "Đồng hồ lệch quá 5 phút")                                                                   \
    X(TS_DEV_GAP, "Có đánh giá không về")                                                                         \
    X(TS_DEV_QUARANTINE, "Có đánh giá bị giữ lại do đồng hồ sai")                                                 \
    X(TS_DEV_REVOKED, "Đã thu hồi")                                                                               \
    X(TS_DEV_NONE, "Chưa có máy nào được đăng ký trong phạm vi này.")                                             \
    X(TS_DEV_HINT, "Được tô màu: im lặng quá 2 ngày, đồng hồ lệch quá 5 phút, có số thứ tự đánh giá bị thiếu (đánh giá làm trên máy nhưng chưa về máy chủ), hoặc có đánh giá bị giữ lại do đồng hồ sai.") \
    X(TS_DEV_QUARANTINE_NOTE, "Đánh giá bị giữ lại: đánh giá mang ngày giờ sai vì đồng hồ của máy sai (muộn hơn lúc máy chủ nhận quá 10 phút, hoặc sớm hơn ngày máy bắt đầu được dùng). Máy chủ vẫn lưu nhưng không tính vào số liệu nào. Cần chỉnh lại ngày giờ của máy đó.") \
    /* Alerts */                                                                                                  \
    X(TS_AL_TITLE, "Cảnh báo")                                                                                    \
    X(TS_AL_NONE, "Không có cảnh báo nào trong kỳ này.")                                                          \
    X(TS_AL_BELOW, "Dưới chỉ tiêu 2025")                                                                          \
    X(TS_AL_DROP, "Giảm hơn 5 điểm so với kỳ trước")                                                              \
    X(TS_AL_SILENT, "Máy im lặng quá 2 ngày")                                                                     \
    X(TS_AL_GAP, "Đánh giá bị thiếu")                                                                             \
    X(TS_AL_KIND, "Loại cảnh báo")                                                                                \
    X(TS_AL_SUBJECT, "Đối tượng")                                                                                 \
    X(TS_AL_DETAIL, "Chi tiết")                                                                                   \
    X(TS_AL_COUNT, "%zu cảnh báo")                                                                                \
    X(TS_AL_D_BELOW, "Tỷ lệ %s%% thấp hơn chỉ tiêu 2025 là %s%% (nhóm %s; %s đánh giá)")                          \
    X(TS_AL_D_DROP, "Giảm %s điểm %%: từ %s%% (kỳ trước) xuống %s%% (nhóm %s)")                                   \
    X(TS_AL_D_SILENT, "Máy %s không gửi dữ liệu %s ngày (lần cuối: %s)")                                         \
    X(TS_AL_D_GAP, "Máy %s thiếu %s đánh giá (số thứ tự cao nhất %s, đã nhận %s)")                                \
    X(TS_AL_HINT, "Cảnh báo gồm: đơn vị dưới chỉ tiêu 2025 khi đủ mẫu; đơn vị giảm hơn 5 điểm % so với kỳ trước; máy im lặng quá 2 ngày; máy có đánh giá không về máy chủ.") \
    /* Sign-in */                                                                                                 \
    X(TS_LOGIN_TITLE, "Đăng nhập")                                                                                \
    X(TS_LOGIN_NAME, "Tên đăng nhập")                                                                             \
    X(TS_LOGIN_PASSWORD, "Mật khẩu")                                                                              \
    X(TS_LOGIN_SUBMIT, "Đăng nhập")                                                                               \
    X(TS_LOGIN_WRONG, "Tên đăng nhập hoặc mật khẩu không đúng.")                                                  \
    X(TS_LOGIN_SLOWED, "Tên đăng nhập hoặc mật khẩu không đúng. Do đã nhập sai nhiều lần, mỗi lần thử tiếp theo phải chờ vài giây.") \
    X(TS_LOGIN_WAIT, "Đã nhập sai nhiều lần. Xin chờ %ld giây rồi thử lại.")                                      \
    X(TS_LOGIN_LOCKED, "Đã nhập sai quá nhiều lần. Việc đăng nhập bị tạm khóa, xin thử lại sau %d phút.")         \
    X(TS_LOGIN_EXPIRED, "Phiên làm việc đã hết hạn hoặc đã kết thúc. Xin đăng nhập lại.")                         \
    X(TS_LOGIN_SIGNED_OUT, "Đã đăng xuất.")                                                                       \
    X(TS_LOGIN_CSRF, "Biểu mẫu đã hết hạn hoặc không hợp lệ. Xin tải lại trang và thử lại.")                      \
    X(TS_LOGIN_HINT, "Dành cho cán bộ Sở Nội vụ và lãnh đạo đơn vị. Tài khoản do quản trị hệ thống cấp.")          \
    /* Errors */                                                                                                  \
    X(TS_ERR_NOT_FOUND, "Không tìm thấy trang này.")                                                              \
    X(TS_ERR_METHOD, "Trang này không nhận loại yêu cầu này.")                                                    \
    X(TS_ERR_SCOPE, "Đơn vị này nằm ngoài phạm vi được xem của tài khoản.")                                       \
    X(TS_ERR_BAD_PARAM, "Tham số trong địa chỉ không hợp lệ (invalid parameter):")                                \
    X(TS_ERR_BAD_DOWNLOAD, "Không có tệp tải về với định dạng hoặc bảng này.")                                    \
    X(TS_ERR_INTERNAL, "Máy chủ gặp sự cố, xin thử lại sau.")                                                     \
    X(TS_ERR_BACK, "Về trang Tổng quan")                                                                          \
    X(TS_CHANGE_UP, "tăng %s điểm %% so với %s")                                                                  \
    X(TS_CHANGE_DOWN, "giảm %s điểm %% so với %s")                                                                \
    X(TS_CHANGE_SAME, "không đổi so với %s")                                                                      \
    X(TS_TARGETS_LINE, "Chỉ tiêu: %s%% (2025) · %s%% (2030)")                                                      \
    X(TS_MONTH_SHORT, "T%d")                                                                                      \
    X(TS_TREND_DOT, "Tháng %d: %s%% (%s đánh giá)")                                                               \
    X(TS_TREND_FEW, "Tháng %d: %s%% (%s đánh giá — chưa đủ mẫu)")                                                  \
    X(TS_HEAT_CELL, "%s, %d giờ: %s đánh giá, %s không hài lòng")                                                 \
    X(TS_HOUR, "Giờ")                                                                                             \
    X(TS_NEVER, "chưa bao giờ")                                                                                   \
    X(TS_SECONDS, "%s giây")                                                                                      \
    X(TS_PICK_KIND, "Loại kỳ")                                                                                    \
    X(TS_PICK_YEAR, "Năm")                                                                                        \
    X(TS_PICK_INDEX, "Tháng / quý / nửa năm")                                                                     \
    X(TS_PICK_OR, "hoặc tùy chọn")                                                                                \
    X(TS_SORT_TREE, "Hiện dạng cây")                                                                              \
    X(TS_EXPAND, "Mở / thu gọn")                                                                                  \
    X(TS_DL_TITLE, "Tải về đúng kỳ và phạm vi đang xem")                                                         \
    X(TS_DL_PDF, "Báo cáo PDF (A4, để ký số)")                                                                    \
    X(TS_DL_XLSX, "Bảng tính Excel (XLSX)")                                                                       \
    X(TS_DL_CSV, "Bảng CSV:")                                                                                     \
    X(TS_PRINT_NOTE, "Trang này in được trên khổ A4.")                                                            \
    /* Report files (XLSX, PDF, CSV): the letterhead's defaults, overridable with tally-admin letterhead */          \
    X(TS_DOC_ISSUER_PARENT, "UBND TỈNH GIA LAI")                                                                  \
    X(TS_DOC_ISSUER, "SỞ NỘI VỤ")                                                                                 \
    X(TS_DOC_PLACE, "Gia Lai")                                                                                    \
    X(TS_DOC_SYMBOL, "BC-SNV")                                                                                    \
    X(TS_DOC_SIGNER_TITLE, "GIÁM ĐỐC")                                                                            \
    X(TS_DOC_RECIPIENTS, "UBND tỉnh (để báo cáo); Lưu: VT")                                                       \
    X(TS_DOC_NATION, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")                                                        \
    X(TS_DOC_MOTTO, "Độc lập - Tự do - Hạnh phúc")                                                                \
    X(TS_DOC_NUMBER, "Số:          /%s")                                                                          \
    X(TS_DOC_DATE, "%s, ngày %s tháng %s năm %d")                                                                 \
    X(TS_DOC_KIND, "BÁO CÁO")                                                                                     \
    X(TS_DOC_TITLE, "Kết quả đánh giá mức độ hài lòng của người dân, tổ chức tại Bộ phận Một cửa")                \
    X(TS_DOC_TITLE_PDF, "Kết quả đánh giá mức độ hài lòng của người dân, tổ chức\ntại Bộ phận Một cửa %s")       \
    X(TS_DOC_PERIOD_CUSTOM, "từ ngày %s đến ngày %s")                                                             \
    X(TS_DOC_INTRO, "Báo cáo tổng hợp đánh giá của người dân, tổ chức qua máy đánh giá đặt tại Bộ phận Một cửa, %s; phạm vi: %s%s. Trong kỳ có %s đánh giá hợp lệ (%s hài lòng, tỷ lệ %s); %s đánh giá nghi lạm dụng được lưu riêng và không tính.") \
    X(TS_FILTER_AREA, "lĩnh vực %s")          /* what a filtered page or file counts (tally_filters_vi) */          \
    X(TS_FILTER_RESPONDENT, "đối tượng %s")                                                                       \
    X(TS_META_FILTER, "Chỉ tính")             /* the page header's item for those filters */                      \
    X(TS_DOC_S_GROUPS, "I. KẾT QUẢ THEO NHÓM CHỈ TIÊU")                                                           \
    X(TS_DOC_S_TREND, "III. DIỄN BIẾN THEO THÁNG NĂM %d")                                                          \
    X(TS_DOC_S_RANK, "II. XẾP HẠNG: ĐƠN VỊ THẤP NHẤT SO VỚI CHỈ TIÊU")                                                     \
    X(TS_DOC_S_REASONS, "IV. LÝ DO NGƯỜI DÂN, TỔ CHỨC CHƯA HÀI LÒNG")                                             \
    X(TS_DOC_S_METHOD, "V. PHƯƠNG PHÁP TÍNH VÀ LƯU Ý")                                                            \
    X(TS_DOC_S_UNITS, "PHỤ LỤC: KẾT QUẢ THEO ĐƠN VỊ")                                                             \
    X(TS_DOC_UNITS_NOTE, "Mỗi đơn vị tính cả các đơn vị trực thuộc. Ô ghi tỷ lệ hài lòng và số đánh giá hợp lệ (n); Đ = đạt, K = không đạt, — = chưa đủ mẫu (mốc 2025 / mốc 2030).") \
    X(TS_DOC_TREND_NOTE, "Trục ngang: tháng 1 – 12. Đường liền: tỷ lệ hài lòng theo tháng; nét đứt: chỉ tiêu 2025 (đậm) và 2030 (nhạt). Điểm rỗng: tháng có ít hơn %d đánh giá hợp lệ (chưa đủ mẫu).") \
    X(TS_DOC_UNITS_SHEET_NOTE, "Mỗi đơn vị tính cả các đơn vị trực thuộc; tên thụt lề theo cấp trong cây đơn vị. Số liệu mang tính tham khảo.") \
    X(TS_DOC_RANK_NONE, "Chưa có quầy nào có đánh giá trong kỳ.")                                                 \
    X(TS_DOC_CHANGE_NONE, "—")                                                                                    \
    X(TS_DOC_N_SHORT, "n = %s")                                                                                   \
    X(TS_DOC_TARGET_SHORT, "≥ %s%%")                                                                              \
    X(TS_DOC_REASONS_NOTE, "Người dân có thể chọn tối đa hai lý do; %s đánh giá không hài lòng trong kỳ.")        \
    X(TS_DOC_TREND_EMPTY, "Chưa có đánh giá nào trong năm.")                                                      \
    X(TS_DOC_RANK_MORE, "Trên đây là %s dòng thấp nhất trong %s dòng xếp hạng (mỗi quầy, mỗi nhóm chỉ tiêu); danh sách đầy đủ ở trang “Xếp hạng” của tệp XLSX cùng kỳ.") \
    X(TS_DOC_METHOD_SCALE, "Thang đánh giá: thang 3 mức (Không hài lòng · Hài lòng · Rất hài lòng) tính là hài lòng từ mức Hài lòng; thang 5 mức tính là hài lòng từ mức 4 (Hài lòng) trở lên.") \
    X(TS_DOC_METHOD_PCT, "Tỷ lệ hài lòng = số đánh giá hài lòng / số đánh giá hợp lệ × 100%, tính từ số đếm, không từ tỷ lệ đã làm tròn; kèm khoảng tin cậy 95% theo phương pháp Wilson.") \
    X(TS_DOC_METHOD_MISUSE, "Đánh giá nghi lạm dụng (bấm lặp lại liên tiếp trong thời gian ngắn) vẫn được lưu và báo cáo riêng, nhưng không tính vào số đánh giá hợp lệ.") \
    X(TS_DOC_METHOD_MIN_N, "Nhóm, lĩnh vực hoặc đơn vị có ít hơn %d đánh giá hợp lệ ghi “Chưa đủ mẫu”, không kết luận đạt hay không đạt. Đạt mốc khi số hài lòng × 100 ≥ chỉ tiêu × số đánh giá hợp lệ.") \
    X(TS_DOC_METHOD_TARGETS, "Chỉ tiêu theo Chương trình tổng thể cải cách hành chính nhà nước của tỉnh Gia Lai giai đoạn 2021 – 2025 và định hướng đến năm 2030: mốc năm 2025 và mốc năm 2030.") \
    X(TS_DOC_RECIPIENTS_HEAD, "Nơi nhận:")                                                                        \
    X(TS_DOC_GENERATED, "Lập tự động lúc %s; dữ liệu nhận lần cuối: %s.")                                         \
    X(TS_DOC_CHART_TARGET, "chỉ tiêu")                                                                            \
    X(TS_DOC_VERDICT_SHORT_DAT, "Đ")                                                                              \
    X(TS_DOC_VERDICT_SHORT_KHONG_DAT, "K")                                                                        \
    X(TS_DOC_VERDICT_SHORT_CHUA_DU_MAU, "—")                                                                      \
    X(TS_COL_NO, "STT")                                                                                           \
    X(TS_COL_RANK, "Hạng")                                                                                        \
    X(TS_COL_GROUP_CODE, "Mã nhóm")                                                                               \
    X(TS_COL_AREA_CODE, "Mã lĩnh vực")                                                                            \
    X(TS_COL_REASON, "Lý do")                                                                                     \
    X(TS_COL_REASON_CODE, "Mã lý do")                                                                             \
    X(TS_COL_TIMES, "Số lượt chọn")                                                                               \
    X(TS_COL_MONTH, "Tháng")                                                                                      \
    X(TS_COL_LEVEL, "Cấp")                                                                                        \
    X(TS_COL_PARENT, "Mã đơn vị cấp trên")                                                                        \
    X(TS_COL_DEVICES, "Số máy")                                                                                   \
    X(TS_COL_LOW, "Cận dưới KTC 95%")                                                                             \
    X(TS_COL_HIGH, "Cận trên KTC 95%")                                                                            \
    X(TS_COL_VERDICT_2025, "Mốc 2025")                                                                            \
    X(TS_COL_VERDICT_2030, "Mốc 2030")                                                                            \
    X(TS_COL_PREV_PCT, "Tỷ lệ kỳ trước")                                                                          \
    X(TS_COL_CHANGE_PTS, "Thay đổi (điểm %)")                                                                     \
    X(TS_COL_GAP_PTS, "Cận trên so với chỉ tiêu 2025 (điểm %)")                                                              \
    X(TS_COL_VALUE, "Giá trị")                                                                                    \
    X(TS_COL_THRESHOLD, "Ngưỡng")                                                                                 \
    X(TS_COL_MEASURE, "Đơn vị đo")                                                                                \
    X(TS_COL_MAX_SEQ, "Số thứ tự cao nhất")                                                                       \
    X(TS_COL_SKEW_S, "Lệch đồng hồ (giây)")                                                                       \
    X(TS_COL_REGISTERED, "Ngày đăng ký")                                                                          \
    X(TS_COL_REVOKED_AT, "Ngày thu hồi")                                                                          \
    X(TS_MEASURE_PCT, "%")                                                                                        \
    X(TS_MEASURE_PTS, "điểm %")                                                                                   \
    X(TS_MEASURE_DAYS, "ngày")                                                                                    \
    X(TS_MEASURE_RATINGS, "đánh giá")                                                                             \
    X(TS_SHEET_RESPONDENTS, "Đối tượng")                                                                          \
    X(TS_COL_RESPONDENT_CODE, "Mã đối tượng")                                                                     \
    X(TS_COL_WAIT_PCT, "Chờ ≤ 30 phút (%)")                                                                       \
    X(TS_COL_WAIT_LOW, "Chờ ≤ 30 phút – cận dưới KTC 95%")                                                        \
    X(TS_COL_WAIT_HIGH, "Chờ ≤ 30 phút – cận trên KTC 95%")                                                       \
    X(TS_COVER_RESPONDENT, "Đối tượng đánh giá")                                                                  \
    X(TS_SHEET_COVER, "Bìa")                                                                                      \
    X(TS_SHEET_GROUPS, "Nhóm chỉ tiêu")                                                                           \
    X(TS_SHEET_UNITS, "Đơn vị")                                                                                   \
    X(TS_SHEET_RANKING, "Xếp hạng")                                                                               \
    X(TS_SHEET_AREAS, "Lĩnh vực")                                                                                 \
    X(TS_SHEET_TREND, "Theo tháng")                                                                               \
    X(TS_SHEET_REASONS, "Lý do")                                                                                  \
    X(TS_SHEET_DEVICES, "Thiết bị")                                                                               \
    X(TS_SHEET_ALERTS, "Cảnh báo")                                                                                \
    X(TS_COVER_TITLE, "Tiêu đề")                                                                                  \
    X(TS_COVER_FROM, "Từ ngày")                                                                                   \
    X(TS_COVER_TO, "Đến ngày")                                                                                    \
    X(TS_COVER_UNIT, "Đơn vị báo cáo")                                                                            \
    X(TS_COVER_AREA, "Lĩnh vực")                                                                                  \
    X(TS_COVER_ALL_AREAS, "Tất cả lĩnh vực")                                                                      \
    X(TS_COVER_MIN_N, "Số đánh giá tối thiểu để kết luận")                                                        \
    X(TS_COVER_ISSUER, "Cơ quan lập")                                                                             \
    X(TS_COVER_NOTES, "Ghi chú")                                                                                  \
    X(TS_COVER_SHEETS, "Các trang tiếp theo: nhóm chỉ tiêu, đơn vị (cây đơn vị, thụt lề theo cấp), xếp hạng, lĩnh vực, theo tháng, lý do chưa hài lòng, thiết bị, cảnh báo. Ô tô đỏ: Không đạt; ô tô vàng: Chưa đủ mẫu.")

typedef enum {
#define TALLY_STR_ENUM(id, text) id,
    TALLY_STRINGS(TALLY_STR_ENUM)
#undef TALLY_STR_ENUM
    TS_COUNT
} TallyStr;

/* The text of a key (never NULL; "" for an out-of-range key). */
const char *tally_str(TallyStr id);
/* Key names ("TS_PRODUCT"), for tests and the JSON renderer's note key. */
const char *tally_str_key(TallyStr id);

#endif
